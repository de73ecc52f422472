"""The read side: open orders per dealership and breaches per advisor, kept in memory.

Rebuilt at start from the service's own notification log (like `laoke.deadlines`) and kept
current through `app.observers`, which see every saved aggregate after its commit. The API
reads it from the event loop while the consumer writes from a worker thread: hence the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from uuid import UUID

from eventsourcing.domain import Aggregate

from laoke.eventstore import ServiceApplication
from services.workshop.aggregates import OLD_TOPIC, RepairOrder
from services.workshop.rules import QueuedOrder, dispatch_order
from services.workshop.settings import Policy

EVENT_NAMES = ("CheckedIn", "ScopeChanged", "ScopeApproved", "ScopeDeclined", "Completed")


class WorkshopIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, dict[UUID, QueuedOrder]] = {}
        # breached order -> (dealership, advisor): a set, so a re-observed order counts once
        self._breaches: dict[UUID, tuple[str, str | None, str]] = {}

    def rebuild(self, app: ServiceApplication) -> None:
        # Events stored before RepairOrder moved to aggregates.py carry its old topic.
        prefixes = (f"{RepairOrder.__module__}:{RepairOrder.__qualname__}.", f"{OLD_TOPIC}.")
        topics = [prefix + name for prefix in prefixes for name in EVENT_NAMES]
        self.observe(app.aggregates_with(topics))

    def observe(self, aggregates: Iterable[Aggregate]) -> None:
        with self._lock:
            for order in aggregates:
                if not isinstance(order, RepairOrder):
                    continue
                orders = self._open.setdefault(order.dealership_id, {})
                if order.state == "closed":
                    orders.pop(order.id, None)
                else:
                    orders[order.id] = QueuedOrder.of(order)
                if order.breached:
                    self._breaches[order.id] = (
                        order.dealership_id,
                        order.breach_advisor_id,
                        order.repair_order_id,
                    )

    def open_orders(self, dealership_id: str) -> list[QueuedOrder]:
        with self._lock:
            return list(self._open.get(dealership_id, {}).values())

    def queue(self, dealership_id: str, policy: Policy) -> list[QueuedOrder]:
        return dispatch_order(self.open_orders(dealership_id), policy)

    def breaches(self, dealership_id: str) -> dict[str | None, list[str]]:
        """Breached repair order ids by advisor (None: no advisor named)."""
        with self._lock:
            found: dict[str | None, list[str]] = {}
            for dealership, advisor, repair_order_id in self._breaches.values():
                if dealership == dealership_id:
                    found.setdefault(advisor, []).append(repair_order_id)
        return {advisor: sorted(ids) for advisor, ids in found.items()}
