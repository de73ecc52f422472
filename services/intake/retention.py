"""The retention limit (PIPL art. 47; docs/privacy.md): a prospect, a customer who never
bought, is erased once `retention_years` (per dealership, 3 by default) have passed since
their latest touchpoint. A customer who bought is never erased by it. Pure: no I/O, no
clock reads (the time comes in as an argument).

Each customer record (`CustomerIdentity`) keeps its own `Facts`, noted from the events
recorded for it: whether it bought, its latest touchpoint (events/timing.py
`is_touchpoint`; until the first one, its first event) and when laoke last received an
event of it. A customer's facts are those of every record merged into it, folded: one
purchase among them makes a buyer. A split gives each record its own facts back.

- **Purchases** (`PURCHASE_TYPES`): a car bought or handed over, a repair order paid,
  parts or accessories bought.
- **Dates are the events' own** (`occurred_at`), so a history import counts the past as it
  happened: a prospect last seen four years ago is past the limit at once.
- **Never within `RECENT` of an event received**: an import reaches laoke in pieces, and a
  customer's later events may be in a later piece; laoke never erases anyone it heard of
  in the last `RECENT`, so every piece sent within that time counts before the rule does.
- **Noted a day at a time** (`SLACK`): a record's facts are written when they move by more
  than `SLACK`, not at every event; the deadline keeps `SLACK` in hand for it, so the rule
  erases at most `SLACK` late and never early.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from events import Event
from events.timing import is_touchpoint

PURCHASE_TYPES = frozenset(
    {"VehiclePurchased", "VehicleDelivered", "ServiceCompleted", "SmallPurchaseMade"}
)
RECENT = timedelta(days=7)
SLACK = timedelta(days=1)
DEFAULT_YEARS = 3
REQUESTED_BY = "retention-rule"  # CustomerErased.requested_by of the rule's erasures


@dataclass(frozen=True)
class Facts:
    """What the rule needs to know of one customer record (or of a customer, folded)."""

    bought: bool = False
    touched_at: datetime | None = None  # the latest touchpoint noted (within SLACK)
    anchor: str | None = None  # its event id: the erasure's cause
    heard_at: datetime | None = None  # the latest receipt noted (within SLACK)


@dataclass(frozen=True)
class Erase:
    """Past the limit: erase, dated `at`, caused by the event `anchor`."""

    at: datetime
    anchor: str


@dataclass(frozen=True)
class Reschedule:
    """Not past the limit (the limit was lengthened since): due again at `due_at`."""

    due_at: datetime


@dataclass(frozen=True)
class Keep:
    """A buyer: the rule never erases them."""


def is_purchase(event: Event) -> bool:
    return event.event_type in PURCHASE_TYPES


def noted(facts: Facts, event: Event) -> Facts | None:
    """The record's facts once `event` (recorded for it) is counted, or None when nothing
    need be written: a buyer's facts no longer change, and a record's touchpoint and
    receipt move by more than `SLACK` before they are noted again."""
    if facts.bought:
        return None
    if is_purchase(event):
        return replace(facts, bought=True)
    touched, anchor, heard = facts.touched_at, facts.anchor, facts.heard_at
    at = event.occurred_at
    if (is_touchpoint(event) or anchor is None) and (touched is None or at >= touched + SLACK):
        touched, anchor = at, str(event.event_id)
    received = event.received_at
    if received is not None and (heard is None or received >= heard + SLACK):
        heard = received
    after = Facts(False, touched, anchor, heard)
    return after if after != facts else None


def folded(records: Iterable[Facts]) -> Facts:
    """A customer's facts: their own and those of every record merged into them."""
    found = list(records)
    touched = [f for f in found if f.touched_at is not None and f.anchor is not None]
    latest = max(touched, key=lambda f: (f.touched_at, f.anchor), default=Facts())
    heard = [f.heard_at for f in found if f.heard_at is not None]
    return Facts(
        bought=any(f.bought for f in found),
        touched_at=latest.touched_at,
        anchor=latest.anchor,
        heard_at=max(heard, default=None),
    )


def add_years(moment: datetime, years: int) -> datetime:
    """The same moment `years` later (29 February: 1 March)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, month=3, day=1)


def due_at(facts: Facts, years: int) -> datetime | None:
    """When the rule may erase the customer: `years` after their latest touchpoint, and
    `RECENT` after the latest event received of them (both noted within `SLACK`, so that
    much later). None for a buyer, or a customer of whom nothing was noted."""
    if facts.bought or facts.touched_at is None:
        return None
    due = add_years(facts.touched_at + SLACK, years)
    if facts.heard_at is not None:
        due = max(due, facts.heard_at + SLACK + RECENT)
    return due


def decide(facts: Facts, years: int, now: datetime) -> Erase | Reschedule | Keep:
    """The customer's deadline came (`now`): erase, dated when the rule made it due (not
    when it was noticed), or due later, or keep a buyer."""
    due = due_at(facts, years)
    if due is None or facts.anchor is None:
        return Keep()
    if due > now:
        return Reschedule(due)
    return Erase(at=due, anchor=facts.anchor)


def deadline_kind(years: int) -> str:
    """The kind of a retention deadline, naming the limit it was set by: at start, those
    set by another limit than the dealership's now are looked at again."""
    return f"retention:P{years}Y"
