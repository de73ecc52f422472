"""Every cell of docs/outreach.md's table "every contact kind x every rule" is a pure test.

The table is read from the page; each row's contact is made by the real planner (an event,
a deadline slot, or another service's `ContactRequested`), each column sets up its rule on
a fresh plan, and the contact rules' answer, rendered, must read as the cell. So the page
and the code cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from events import ContactRequested
from services.outreach.aggregates import ContactPlan, FollowUp
from services.outreach.expiry import decide as gate
from services.outreach.expiry import expiry_of
from services.outreach.planner import PlannedContact, plan, plan_slot, requested
from services.outreach.purposes import purpose_of
from services.outreach.settings import Policy
from tests.outreach.helpers import decision_from, recorded

PAGE = Path(__file__).resolve().parents[2] / "docs" / "outreach.md"
SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 3, 10, 10, 0, tzinfo=SH)  # a Tuesday, out of quiet hours
LATE = datetime(2026, 3, 10, 22, 40, tzinfo=SH)
VIN = "LSGKB54E7LS123456"
PHONE = "13800138000"
POLICY = Policy(small_purchase_sample_rate=1.0)


def table() -> tuple[list[str], dict[str, list[str]]]:
    """The header and the rows (kind -> cells) of the table between the markers."""
    text = PAGE.read_text(encoding="utf-8")
    block = text.split("<!-- contact-table -->")[1]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    header, rows = cells[0], cells[2:]
    return header[1:], {row[0].strip("`"): row[1:] for row in rows}


def fresh(marketing: bool = True) -> ContactPlan:
    state = ContactPlan(dealership_id="demo-4s", customer_id="c-0001")
    state.register(
        name="张伟",
        phones=[PHONE],
        birthday="1985-06-15",
        family=[],
        marketing=marketing,
        channels=["phone", "wechat"],
    )
    state.vehicle_delivered(VIN, AT - timedelta(days=400))
    return state


def request(reason: str) -> PlannedContact:
    event = decision_from(
        "ContactRequested",
        reason=reason,
        follow_up_id=f"req-{reason}",
        not_before=AT.isoformat(),
        channels=["phone"],
    )
    assert isinstance(event, ContactRequested)
    return requested(event)


def outreach_retry(state: ContactPlan, attempt: int) -> PlannedContact:
    """The retry of an unanswered purchase call's `attempt`-th try (its first try's life)."""
    ends = expiry_of("purchase_call_7d", AT, POLICY)
    root = FollowUp("fu-root", "purchase_call_7d", AT, "phone", "outreach", expires_at=ends)
    state.plan_follow_up(root.to_dict())
    if attempt > 1:
        tried = FollowUp(
            "fu-try", "retry", AT, "phone", "outreach", attempt=attempt, root_id="fu-root"
        )
        tried.expires_at = ends
        state.plan_follow_up(tried.to_dict())
    tried = "fu-try" if attempt > 1 else "fu-root"
    answer = recorded(
        "FollowUpCompleted",
        follow_up_id=tried,
        outcome="no_answer",
        satisfaction=None,
        occurred_at=AT.isoformat(),
    )
    (contact,) = plan(state, answer, POLICY)
    return contact


def from_event(
    event_type: str, reason: str, **fields: object
) -> Callable[[ContactPlan], PlannedContact]:
    def make(state: ContactPlan) -> PlannedContact:
        event = recorded(event_type, occurred_at=AT.isoformat(), **fields)
        return next(c for c in plan(state, event, POLICY) if c.reason == reason)

    return make


def from_slot(slot: str) -> Callable[[ContactPlan], PlannedContact]:
    def make(state: ContactPlan) -> PlannedContact:
        if slot == "reengage":
            state.touch(AT - timedelta(days=200))
        (contact,) = plan_slot(state, slot, AT, POLICY)
        return contact

    return make


KINDS: dict[str, Callable[[ContactPlan], PlannedContact]] = {
    "purchase_call_7d": from_event("VehiclePurchased", "purchase_call_7d", vin=VIN),
    "purchase_call_3m": from_event("VehiclePurchased", "purchase_call_3m", vin=VIN),
    "small_purchase_call": from_event("SmallPurchaseMade", "small_purchase_call"),
    "survey_csi": from_event("ServiceCompleted", "survey_csi", vin=VIN),
    "survey_ssi": from_event(
        "VehicleDelivered", "survey_ssi", vin="LSGKB54E7LS654321", delivered_at=AT.isoformat()
    ),
    "service_reminder": from_slot(f"service:{VIN}"),
    "inspection_reminder": from_slot(f"inspection:{VIN}"),
    "insurance_reminder": from_slot(f"insurance:{VIN}"),
    "birthday_greeting": from_slot("birthday:self:张伟"),
    "holiday_greeting": from_slot("holiday:Spring Festival"),
    "reengagement": from_slot("reengage"),
    "complaint_callback": lambda state: request("complaint_callback"),
    "scope_change_contact": lambda state: request("scope_change_contact"),
    "referral_callback": lambda state: request("referral_callback"),
    "retry": lambda state: outreach_retry(state, 1),
}


def decide(
    state: ContactPlan, contact: PlannedContact, at: datetime = AT, now: datetime | None = None
) -> str:
    """The gate's answer for one contact due at `at`, planned at `now` (default: then), as
    the table writes it: the useful life first, then the contact rules (expiry.decide)."""
    due, skipped = gate([replace(contact, due_at=at)], state, POLICY, now or at)
    if skipped:
        return f"skipped `{skipped[0].skip_reason}`"
    (admitted,) = due
    said = f"due `{admitted.channel}`"
    if admitted.due_at != at:
        said += f", at {admitted.due_at.astimezone(SH):%H:%M}"
        if admitted.due_at.date() != at.date():
            said += f" +{(admitted.due_at.date() - at.date()).days} d"
    return said


def column(name: str, kind: str) -> str:
    """Set up the rule `name` and answer for the contact `kind`."""
    state = fresh(marketing=name != "no marketing consent")
    contact = KINDS[kind](state)
    purpose = purpose_of(contact.reason, contact.detail, POLICY)
    if name == "purpose":
        return purpose
    if name == "none (the contact alone)":
        return decide(state, contact)
    if name == "opted out of its purpose":
        state.change_preference(True, None, [purpose])
    elif name == "opt-out naming no purpose":
        state.change_preference(True, None, None)
    elif name == "phone opted out for its purpose":
        state.change_preference(True, ["phone"], [purpose])
    elif name == "every number flagged wrong":
        state.flag_phone(PHONE)
    elif name == "open complaint":
        state.open_complaint("CP-9")
    elif name == "planned at 22:40":
        return decide(state, contact, LATE)
    elif name == "planned 60 days late":
        return decide(state, contact, AT, now=AT + timedelta(days=60))
    elif name == "4 contacts in the last 30 days":
        for i, days in enumerate((27, 20, 13, 6)):
            at = AT - timedelta(days=days)
            state.plan_follow_up(FollowUp(f"fu-{i}", "service_reminder", at, "sms", "x").to_dict())
    elif name == "no answer":
        return no_answer(state, kind, contact)
    return decide(state, contact)


def no_answer(state: ContactPlan, kind: str, contact: PlannedContact) -> str:
    """Outreach retries its own contacts a day later (3 tries in all); a requested contact
    is its requester's to retry (complaints does: 3 tries; referrals and workshop do not)."""
    if kind == "retry":
        return decide(state, outreach_retry(fresh(), 3))
    source = "outreach" if contact.request is None else contact.request.source
    tried = FollowUp("fu-tried", contact.reason, AT, "phone", source)
    state.plan_follow_up(tried.to_dict())
    answer = recorded(
        "FollowUpCompleted",
        follow_up_id="fu-tried",
        outcome="no_answer",
        satisfaction=None,
        occurred_at=AT.isoformat(),
    )
    retries = plan(state, answer, POLICY)
    if not retries:
        return "not retried by outreach"
    (retry,) = retries
    return f"retried after {(retry.due_at - AT).days} d" if retry.reason == "retry" else "?"


HEADER, ROWS = table()
CELLS = [(kind, name, cells[i]) for kind, cells in ROWS.items() for i, name in enumerate(HEADER)]


def test_the_table_has_every_contact_kind_and_rule() -> None:
    assert set(ROWS) == set(KINDS)
    assert all(len(cells) == len(HEADER) for cells in ROWS.values())


@pytest.mark.parametrize(("kind", "rule", "cell"), CELLS, ids=[f"{k}|{r}" for k, r, _ in CELLS])
def test_cell(kind: str, rule: str, cell: str) -> None:
    assert column(rule, kind) == cell
