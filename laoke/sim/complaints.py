"""The trouble chapter: a complaint's six steps, or the silent customer's low score."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from events import (
    ApologyIssued,
    ComplaintFiled,
    ComplaintInvestigated,
    FollowUpCompleted,
    InboundEvent,
    RemedyAccepted,
    RemedyProposed,
    RemedyRejected,
)
from laoke.sim import texts
from laoke.sim.dealership import Dealership
from laoke.sim.model import ADVISORS, DAY, MINUTE, Person, Story
from laoke.sim.workshop import low_score

ROLE_LIMITS = (("advisor", 2_000), ("manager", 20_000), ("general_manager", None))
ROLE_STAFF = {"advisor": None, "manager": "mgr-01", "general_manager": "gm-01"}
Steps = list[tuple[type[InboundEvent], dict[str, Any]]]


def complaint_callback_id(dealership_id: str, complaint_id: str) -> str:
    """The step-6 call-back's follow-up id as the complaints service derives it (the only
    follow-up id a sender can know in advance; a test keeps the two in step)."""
    aggregate = uuid5(NAMESPACE_URL, f"laoke:complaint:{dealership_id}:{complaint_id}")
    return f"complaint-callback-{aggregate}"


def trouble(d: Dealership, s: Story, p: Person) -> None:
    """The planned group's trouble at the pivot; sets when it was resolved and, for those
    who will not buy again, when they stop buying here."""
    s.resolved = p.pivot
    if p.group in ("quick", "slow", "unresolved"):
        s.resolved = complaint(d, s, p)
    elif p.group == "silent":
        s.resolved = low_score(d, s, p)
    if p.group is not None and not p.repurchase:
        # Not buying again means taking the business elsewhere: no service, no
        # accessories after the complaint (silent: the low score) either, so the
        # repurchase figure is the same whether a metric counts cars or any purchase.
        s.stops_buying = p.pivot


def complaint(d: Dealership, s: Story, p: Person) -> datetime:
    """The six steps; returns when the complaint process ended (accepted or abandoned)."""
    rng, rates = d.rng, d.rates
    assert p.pivot is not None and p.group is not None
    filed = p.pivot
    category = texts.CATEGORIES[d.complaints % len(texts.CATEGORIES)]  # every category
    d.complaints += 1
    complaint_id = f"CP-{p.index:06d}"
    call = d.hints(p, "call")
    s.add(
        filed,
        ComplaintFiled,
        "call-center",
        call,
        complaint_id=complaint_id,
        channel=rng.choice(("phone", "on_site", "online", "survey")),
        category=category,
        description=texts.COMPLAINTS[category],
        severity=rng.choice(("low", "medium", "high")),
        vin=p.cars[0].vin,
    )
    late = rng.random() < rates.late_apology
    apology = filed + rng.randint(70, 240) * MINUTE if late else filed + rng.randint(5, 50) * MINUTE
    s.add(
        apology,
        ApologyIssued,
        "call-center",
        call,
        complaint_id=complaint_id,
        issued_by=p.advisor,
        channel=rng.choice(("phone", "on_site", "wechat")),
        message=texts.APOLOGY,
    )
    investigated = apology + rng.randint(30, 180) * MINUTE
    remedy = _remedy_for(d, category)
    s.add(
        investigated,
        ComplaintInvestigated,
        "call-center",
        call,
        complaint_id=complaint_id,
        answers={
            "what": texts.COMPLAINTS[category],
            "how": "客户来电详细说明",
            "product": p.cars[0].model,
            "why": "影响正常用车",
            "advisor": p.advisor,
            "wanted_resolution": texts.WANTED[remedy],
        },
    )
    end = {
        "quick": filed + rng.randint(8 * 60, 40 * 60) * MINUTE,
        "slow": filed + rng.randint(56 * 60, 12 * 24 * 60) * MINUTE,
        "unresolved": filed + rng.randint(2 * 24 * 60, 10 * 24 * 60) * MINUTE,
    }[p.group]
    steps = _remedy_steps(d, p.group, remedy)
    gap = (end - investigated) / max(len(steps), 1)
    for n, (kind, data) in enumerate(steps, start=1):
        at = end if n == len(steps) else investigated + gap * n
        s.add(at, kind, "call-center", call, complaint_id=complaint_id, **data)
    if p.group == "unresolved":
        return end
    callback = end + 3 * DAY + rng.randint(0, 360) * MINUTE
    reached = rng.random() < rates.callback_reached
    # A dissatisfied call-back (6 or lower, or declined) would reopen the complaint
    # (docs/complaints.md), which the outcome groups do not model: a resolved customer is
    # reached satisfied, or not reached.
    satisfaction = rng.randint(8, 10) if p.group == "quick" else rng.randint(7, 9)
    s.add(
        callback,
        FollowUpCompleted,
        "call-center",
        call,
        follow_up_id=complaint_callback_id(d.d, complaint_id),
        outcome="reached" if reached else "no_answer",
        satisfaction=satisfaction if reached else None,
    )
    return end


def _remedy_for(d: Dealership, category: str) -> str:
    options = {
        "product_quality": ("repair", "replace", "refund"),
        "unsatisfying_goods": ("replace", "refund", "repair"),
        "misleading_advertising": ("refund", "apology"),
    }.get(category, ("apology", "apology", "repair", "refund"))
    return d.rng.choice(options)


def _remedy_steps(d: Dealership, group: str, remedy: str) -> Steps:
    rng, rates = d.rng, d.rates
    if group == "unresolved" and rng.random() < 0.3:
        return []  # the customer stopped answering after the investigation
    low, high = {
        "apology": (0, 1500),
        "repair": (500, 8000),
        "replace": (5000, 40000),
        "refund": (1000, 30000),
    }[remedy]
    amount = rng.randrange(low, high + 1, 50)
    steps: Steps = []
    if rng.random() < rates.over_authority:
        amount = max(amount, 2500)  # above an advisor's limit, proposed by the advisor
        steps.append((RemedyProposed, _proposal(d, remedy, amount, "advisor")))
    steps.append((RemedyProposed, _proposal(d, remedy, amount)))
    if group == "unresolved" or rng.random() < rates.remedy_rejected_once:
        steps.append((RemedyRejected, {"note": "客户认为补偿不够"}))
        amount = int(amount * 1.3)
        steps.append((RemedyProposed, _proposal(d, remedy, amount)))
    final = RemedyRejected if group == "unresolved" else RemedyAccepted
    steps.append((final, {"note": "客户仍不满意" if group == "unresolved" else "客户接受"}))
    return steps


def _proposal(d: Dealership, remedy: str, amount: int, role: str | None = None) -> dict[str, Any]:
    if role is None:
        role = next(r for r, limit in ROLE_LIMITS if limit is None or amount <= limit)
    staff = ROLE_STAFF[role] or d.rng.choice(ADVISORS)
    return {"remedy": remedy, "amount_cny": Decimal(amount), "proposed_by": staff, "role": role}
