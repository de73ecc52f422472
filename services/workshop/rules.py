"""The workshop's pure rules: repair orders, dispatch priority, scope changes and breaches.

No I/O and no clock reads: every time comes from an event. The rules (docs/domain.md "Service
reception", 004):
- dispatch priority: the dealership's order of arrival kinds (default rework, emergency,
  appointment, waiting, vip, walk_in), then arrival time, then repair order id;
- a scope change puts the order on hold and asks for a customer contact at once; it is a
  complaint-class contact (exempt from the 30-day cap), and outreach's contact rules plan it
  like every contact: out of quiet hours, not to a customer who refused complaint contacts;
- approval resumes the work with the added items; a decline resumes it with the original
  scope;
- completing an order whose change was neither approved nor declined is a breach: recorded
  against the advisor, and a complaint risk flag on the customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from events import (
    ComplaintRiskFlagged,
    ContactRequested,
    Event,
    RepairScopeChanged,
    ScopeChangeApproved,
    ScopeChangeBreached,
    ScopeChangeDeclined,
    ServiceCheckedIn,
    ServiceCompleted,
)
from events.inbound import ArrivalKind
from laoke.decisions import decision
from services.workshop.aggregates import OrderState, RepairOrder
from services.workshop.settings import Policy

SERVICE = "workshop"


@dataclass
class Outcome:
    """What one event did: the order to save (if it changed), decisions, or why nothing."""

    order: RepairOrder | None = None
    decisions: list[Event] = field(default_factory=list)
    ignored: str | None = None


def _ignored(why: str) -> Outcome:
    return Outcome(ignored=why)


def check_in(order: RepairOrder | None, checked_in: ServiceCheckedIn) -> Outcome:
    if order is not None:
        return _ignored(f"repair order {checked_in.repair_order_id} is already checked in")
    assert checked_in.customer_id is not None, "recorded events carry customer_id"
    return Outcome(
        RepairOrder(
            dealership_id=checked_in.dealership_id,
            repair_order_id=checked_in.repair_order_id,
            vin=checked_in.vin,
            arrival_kind=checked_in.arrival_kind,
            arrived_at=checked_in.occurred_at,
            promised_at=checked_in.promised_at,
            advisor_id=checked_in.advisor_id,
            customer_id=checked_in.customer_id,
        )
    )


def scope_follow_up_id(changed: RepairScopeChanged) -> str:
    return f"scope-{changed.event_id}"


def change_scope(order: RepairOrder | None, changed: RepairScopeChanged, policy: Policy) -> Outcome:
    """Hold the order and ask for the customer contact from the change's own time on."""
    if order is None:
        return _ignored(f"scope change for unknown repair order {changed.repair_order_id}")
    if order.state == "closed":
        return _ignored(f"scope change for closed repair order {changed.repair_order_id}")
    order.hold(
        added_items=list(changed.added_items),
        extra_amount_cny=changed.extra_amount_cny,
        at=changed.occurred_at,
    )
    contact = decision(
        ContactRequested,
        changed,
        source=SERVICE,
        occurred_at=changed.occurred_at,
        name="scope_change_contact",
        follow_up_id=scope_follow_up_id(changed),
        reason="scope_change_contact",
        not_before=changed.occurred_at,
        channels=[policy.scope_contact_channel],
        detail={
            "contact_class": "complaint",
            "why": "the scope of a repair changed: the customer is told before work goes on",
            "repair_order_id": order.repair_order_id,
            "added_items": "; ".join(changed.added_items)[:4000],
            "extra_amount_cny": str(changed.extra_amount_cny),
            "order_on_hold": "yes",
        },
    )
    return Outcome(order, [contact])


def approve_scope(order: RepairOrder | None, approved: ScopeChangeApproved) -> Outcome:
    if order is None or not order.has_pending_change or order.state == "closed":
        return _ignored(f"approval without a pending scope change on {approved.repair_order_id}")
    order.approve(at=approved.occurred_at)
    return Outcome(order)


def decline_scope(order: RepairOrder | None, declined: ScopeChangeDeclined) -> Outcome:
    if order is None or not order.has_pending_change or order.state == "closed":
        return _ignored(f"decline without a pending scope change on {declined.repair_order_id}")
    order.decline(at=declined.occurred_at)
    return Outcome(order)


def complete(order: RepairOrder | None, completed: ServiceCompleted) -> Outcome:
    """Close the order; work finished on an unanswered scope change is a breach."""
    if order is None:
        return _ignored(f"completion without check-in of {completed.repair_order_id}")
    if order.state == "closed":
        return _ignored(f"repair order {completed.repair_order_id} is already closed")
    breached = order.has_pending_change
    why = "repair order completed without the customer's approval of added work: " + "; ".join(
        order.pending_items
    )
    order.complete(at=completed.occurred_at, advisor_id=completed.advisor_id, breached=breached)
    if not breached:
        return Outcome(order)
    breach = decision(
        ScopeChangeBreached,
        completed,
        source=SERVICE,
        occurred_at=completed.occurred_at,
        repair_order_id=order.repair_order_id,
        advisor_id=completed.advisor_id,
    )
    risk = decision(
        ComplaintRiskFlagged,
        completed,
        source=SERVICE,
        occurred_at=completed.occurred_at,
        name="scope_change_breached",
        repair_order_id=order.repair_order_id,
        why=why[:500],
    )
    return Outcome(order, [breach, risk])


# -- dispatch order -----------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedOrder:
    """An open order as the queue shows it (a snapshot of the aggregate)."""

    dealership_id: str
    repair_order_id: str
    vin: str
    customer_id: str
    advisor_id: str | None
    arrival_kind: ArrivalKind
    arrived_at: datetime
    promised_at: datetime | None
    state: OrderState
    on_hold_since: datetime | None
    pending_items: tuple[str, ...]
    pending_amount_cny: Decimal

    @classmethod
    def of(cls, order: RepairOrder) -> QueuedOrder:
        return cls(
            dealership_id=order.dealership_id,
            repair_order_id=order.repair_order_id,
            vin=order.vin,
            customer_id=order.customer_id,
            advisor_id=order.advisor_id,
            arrival_kind=order.arrival_kind,
            arrived_at=order.arrived_at,
            promised_at=order.promised_at,
            state=order.state,
            on_hold_since=order.on_hold_since,
            pending_items=tuple(order.pending_items),
            pending_amount_cny=order.pending_amount_cny,
        )


def dispatch_key(
    arrival_kind: ArrivalKind, arrived_at: datetime, repair_order_id: str, policy: Policy
) -> tuple[int, datetime, str]:
    return (policy.rank(arrival_kind), arrived_at, repair_order_id)


def dispatch_order(orders: Iterable[QueuedOrder], policy: Policy) -> list[QueuedOrder]:
    """Open orders first-dispatched first (orders on hold keep their place in the queue)."""
    return sorted(
        orders, key=lambda o: dispatch_key(o.arrival_kind, o.arrived_at, o.repair_order_id, policy)
    )


def waiting_minutes(arrived_at: datetime, now: datetime) -> int:
    return max(0, int((now - arrived_at).total_seconds() // 60))
