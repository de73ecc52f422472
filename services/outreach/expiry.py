"""A contact's useful life (pure): when it ends, and what ends with it.

A contact is worth making from its due day until its life (`Policy.follow_up_life_days`,
docs/outreach.md "Useful life") runs out: it expires at local midnight after its due day
plus that many days. Planned after that moment (a history import, a cause reported late,
a deadline handled long after it came due), it is skipped `expired` and never reaches the
work list; planned in time and left open past it, it ends with `FollowUpExpired`.
No I/O, no clock: `now` is an argument.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from uuid import UUID

from events import FollowUpExpired
from laoke.decisions import Cause, decision
from services.outreach.aggregates import ContactPlan, FollowUp
from services.outreach.calendar import at_local, local
from services.outreach.planner import PlannedContact, revised
from services.outreach.rules import Admitted, Skipped, apply_contact_rules
from services.outreach.settings import Policy


def expiry_of(reason: str, due_at: datetime, policy: Policy) -> datetime | None:
    """When a contact for `reason` due at `due_at` stops being worth making (None: never)."""
    days = policy.follow_up_life_days.days(reason)
    if days is None:
        return None
    last_day = local(due_at, policy.timezone).date() + timedelta(days=days)
    return at_local(last_day + timedelta(days=1), time(0), policy.timezone)


def with_expiry(contacts: list[PlannedContact], policy: Policy) -> list[PlannedContact]:
    """The candidates with their expiry; a retry keeps the one it carries (its first try's:
    trying again does not make a contact worth more)."""
    return [
        c
        if c.expires_at is not None or c.reason == "retry"
        else revised(c, expires_at=expiry_of(c.reason, c.due_at, policy))
        for c in contacts
    ]


def split_expired(
    contacts: list[PlannedContact], now: datetime
) -> tuple[list[PlannedContact], list[Skipped]]:
    """(the candidates still worth planning, those whose life ended by `now`: skipped)."""
    fresh: list[PlannedContact] = []
    stale: list[Skipped] = []
    for contact in contacts:
        if contact.expires_at is not None and contact.expires_at <= now:
            ended = contact.expires_at.isoformat()
            why = f"its useful life ended {ended}, before it was planned"
            detail = {**contact.detail, "expires_at": ended}
            stale.append(Skipped(revised(contact, detail=detail), "expired", why))
        else:
            fresh.append(contact)
    return fresh, stale


def decide(
    candidates: list[PlannedContact], state: ContactPlan, policy: Policy, now: datetime
) -> tuple[list[Admitted], list[Skipped]]:
    """The candidates' fate when planned at `now`: those whose useful life has ended are
    skipped `expired`, taking no room under the cap; the contact rules decide the rest."""
    fresh, stale = split_expired(with_expiry(candidates, policy), now)
    due, skipped = apply_contact_rules(fresh, state, policy)
    return due, stale + skipped


def outlived(follow_up: FollowUp, at: datetime) -> bool:
    """True when an open contact has reached its expiry at `at`: it ends, not made."""
    return (
        follow_up.status == "due"
        and follow_up.expires_at is not None
        and follow_up.expires_at <= at
    )


def expired(
    state: ContactPlan, follow_up: FollowUp, correlation_id: UUID, at: datetime, source: str
) -> FollowUpExpired:
    """The decision that ends `follow_up` at its expiry `at`: caused by the FollowUpDue that
    planned it (its event id is the follow-up id's hex, events/ids.py) and dated at the
    expiry, so it is the same decision whenever the ticker gets to it."""
    planned = Cause(
        UUID(follow_up.follow_up_id.removeprefix("fu-")),
        correlation_id,
        state.dealership_id,
        state.customer_id,
    )
    return decision(
        FollowUpExpired,
        planned,
        source=source,
        occurred_at=at,
        follow_up_id=follow_up.follow_up_id,
        reason=follow_up.reason,
        due_at=follow_up.due_at,
        expires_at=follow_up.expires_at,
    )
