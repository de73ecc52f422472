"""Repurchase by complaint outcome (seed 004's 82 / 54 / 19 / 9 %), pure, plus its loader.

The rule (docs/domain.md "Repurchase", formula and worked example in docs/projections.md):

- a complaint's *outcome*: resolved within its SLA (`resolved_quickly`), resolved after it
  (`resolved_slowly`), or *not resolved* (`unresolved`): closed without a resolution, or
  open past the `sla_due_at` complaints recorded (ComplaintClockSet). An open complaint
  still inside its SLA (or with no SLA recorded yet) has no outcome yet and is in no group.
- its *observation window* starts when the complaint ended for the customer: closed (the
  call-back), else resolved (call-back still to come), else, unresolved and open, at its
  SLA's due time; it lasts `repurchase_window_days` (default 365, per dealership).
- a *repurchase* is a paid purchase (vehicle, service, parts) after the start and within
  the window: zero-amount work (warranty, goodwill), reworks (the dealership redoing its
  own work) and any work on the repair order the complaint was about are not one.
- a complaint counts in its group's denominator once its window has ended; before that it
  is `pending`. A repurchase made early does not count it early: the rate would otherwise
  favour the outcomes whose windows are younger.

`dissatisfied_never_complained` is the same with the first dissatisfaction signal as the
start and no repair order excluded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.projections.store import ReadStore
from services.projections.tables import parse_ts

Outcome = Literal["resolved_quickly", "resolved_slowly", "unresolved"]
Status = Literal["repurchased", "not_repurchased", "pending"]
NOT_A_PURCHASE_KINDS = frozenset({"rework"})  # `purchases.kind` of a rework visit


@dataclass(frozen=True)
class Purchase:
    """A row of `purchases`: what a customer paid for, when, and on which order."""

    at: datetime
    kind: str  # vehicle | service | rework | small
    amount_cny: float
    ref: str | None = None  # the repair order of a service, the order of parts


@dataclass(frozen=True)
class ComplaintEnd:
    """What the rule needs of a complaint, as the read model recorded it."""

    filed_at: datetime
    resolved_at: datetime | None = None
    within_sla: bool | None = None
    closed_at: datetime | None = None
    sla_due_at: datetime | None = None
    repair_order_id: str | None = None


def outcome(c: ComplaintEnd, now: datetime) -> Outcome | None:
    """The complaint's outcome as of `now`; None while open inside its SLA."""
    if c.resolved_at is not None:
        return "resolved_quickly" if c.within_sla else "resolved_slowly"
    if c.closed_at is not None:
        return "unresolved"
    if c.sla_due_at is not None and now > c.sla_due_at:
        return "unresolved"
    return None


def window_start(c: ComplaintEnd) -> datetime | None:
    """When the customer's observation window opens (None: the complaint has not ended)."""
    return c.closed_at or c.resolved_at or c.sla_due_at


def is_repurchase(p: Purchase, excluded_refs: frozenset[str]) -> bool:
    """Paid, not a rework, not on an order the complaint was about."""
    if p.amount_cny <= 0 or p.kind in NOT_A_PURCHASE_KINDS:
        return False
    return p.ref is None or p.ref not in excluded_refs


def status(
    start: datetime,
    purchases: Iterable[Purchase],
    now: datetime,
    window: timedelta,
    excluded_refs: frozenset[str] = frozenset(),
) -> Status:
    """Repurchased, not, or pending (window not over) for a window opening at `start`."""
    end = start + window
    if now < end:
        return "pending"
    bought = any(start < p.at <= end and is_repurchase(p, excluded_refs) for p in purchases)
    return "repurchased" if bought else "not_repurchased"


def complaint_status(
    c: ComplaintEnd, purchases: Iterable[Purchase], now: datetime, window: timedelta
) -> tuple[Outcome, Status] | None:
    """The complaint's group and where it stands in it; None while it has no outcome."""
    found = outcome(c, now)
    start = window_start(c)
    if found is None or start is None:
        return None
    excluded = frozenset({c.repair_order_id} if c.repair_order_id else ())
    return found, status(start, purchases, now, window, excluded)


# -- loading -------------------------------------------------------------------------------


def purchases_of(
    store: ReadStore, customer_ids: Sequence[str], after: str
) -> dict[str, list[Purchase]]:
    """Each customer's purchases after `after` (stored time), on the (customer, time) index."""
    found: dict[str, list[Purchase]] = {c: [] for c in customer_ids}
    for start in range(0, len(customer_ids), 500):
        chunk = customer_ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for customer_id, at, kind, amount, ref in store.query(
            "SELECT customer_id, at, kind, amount_cny, ref FROM purchases"
            f" WHERE customer_id IN ({marks}) AND at > ?",
            (*chunk, after),
        ):
            found[customer_id].append(Purchase(parse_ts(at), kind, float(amount), ref))
    return found
