"""The workshop's aggregate: one repair order from check-in to completion.

State only (arrival, promised time, advisor, state `open`/`on_hold`/`closed`, the pending
scope change, the breach): each method records one event; rules.py decides which. No I/O,
no clock reads: every time comes from an event.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from events.inbound import ArrivalKind

OrderState = Literal["open", "on_hold", "closed"]


def repair_order_aggregate_id(dealership_id: str, repair_order_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:workshop:repair-order:{dealership_id}:{repair_order_id}")


class RepairOrder(Aggregate):
    """One repair order from check-in to completion."""

    @staticmethod
    def create_id(dealership_id: str, repair_order_id: str, **_: object) -> UUID:
        return repair_order_aggregate_id(dealership_id, repair_order_id)

    @event("CheckedIn")
    def __init__(
        self,
        dealership_id: str,
        repair_order_id: str,
        vin: str,
        arrival_kind: ArrivalKind,
        arrived_at: datetime,
        promised_at: datetime | None,
        advisor_id: str | None,
        customer_id: str,
    ) -> None:
        self.dealership_id = dealership_id
        self.repair_order_id = repair_order_id
        self.vin = vin
        self.arrival_kind: ArrivalKind = arrival_kind
        self.arrived_at = arrived_at
        self.promised_at = promised_at
        self.advisor_id = advisor_id
        self.customer_id = customer_id
        self.state: OrderState = "open"
        self.on_hold_since: datetime | None = None
        self.pending_items: list[str] = []
        self.pending_amount_cny = Decimal(0)
        self.approved_items: list[str] = []
        self.declined_items: list[str] = []
        self.scope_changes = 0
        self.breached = False
        self.breach_advisor_id: str | None = None
        self.closed_at: datetime | None = None

    @property
    def has_pending_change(self) -> bool:
        return bool(self.pending_items)

    @event("ScopeChanged")
    def hold(self, added_items: list[str], extra_amount_cny: Decimal, at: datetime) -> None:
        # A second change before the customer answered adds to the same question.
        if not self.has_pending_change:
            self.on_hold_since = at
        self.pending_items = [*self.pending_items, *added_items]
        self.pending_amount_cny = self.pending_amount_cny + extra_amount_cny
        self.scope_changes += 1
        self.state = "on_hold"

    @event("ScopeApproved")
    def approve(self, at: datetime) -> None:
        self.approved_items = [*self.approved_items, *self.pending_items]
        self._resume()

    @event("ScopeDeclined")
    def decline(self, at: datetime) -> None:
        # Work goes on with the original scope: the added items are dropped, not done.
        self.declined_items = [*self.declined_items, *self.pending_items]
        self._resume()

    def _resume(self) -> None:
        self.pending_items = []
        self.pending_amount_cny = Decimal(0)
        self.on_hold_since = None
        self.state = "open"

    @event("Completed")
    def complete(self, at: datetime, advisor_id: str, breached: bool) -> None:
        self.state = "closed"
        self.closed_at = at
        self.breached = breached
        if breached:
            self.breach_advisor_id = advisor_id


# Stores written before the class moved here name it (and its events) by its old module:
# those topics still resolve, so such stores load as before.
OLD_TOPIC = "services.workshop.domain:RepairOrder"
register_topic(OLD_TOPIC, RepairOrder)
