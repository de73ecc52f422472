"""The workshop's use case: load the repair order an event is about, apply the rule, note
what changed in the unit of work (the consumer commits it with the stream position)."""

from __future__ import annotations

import logging

from events import (
    Event,
    RepairScopeChanged,
    ScopeChangeApproved,
    ScopeChangeDeclined,
    ServiceCheckedIn,
    ServiceCompleted,
)
from laoke.eventstore import ServiceApplication
from laoke.work import UnitOfWork
from services.workshop import rules
from services.workshop.aggregates import RepairOrder, repair_order_aggregate_id
from services.workshop.rules import Outcome
from services.workshop.settings import WorkshopSettings

log = logging.getLogger(__name__)

WorkshopEvent = (
    ServiceCheckedIn
    | RepairScopeChanged
    | ScopeChangeApproved
    | ScopeChangeDeclined
    | ServiceCompleted
)
WORKSHOP_EVENTS = (
    ServiceCheckedIn,
    RepairScopeChanged,
    ScopeChangeApproved,
    ScopeChangeDeclined,
    ServiceCompleted,
)


class Workshop:
    def __init__(self, app: ServiceApplication, settings: WorkshopSettings) -> None:
        self.app = app
        self.settings = settings

    def handle(self, work: UnitOfWork, event: Event) -> None:
        if not isinstance(event, WORKSHOP_EVENTS) or event.customer_id is None:
            return  # not about the workshop (other services' decisions, our own, ...)
        aggregate_id = repair_order_aggregate_id(event.dealership_id, event.repair_order_id)
        order = work.get(aggregate_id, RepairOrder)
        outcome = self.decide(order, event)
        if outcome.ignored is not None:
            log.warning(
                "workshop ignored %s %s (dealership %s): %s",
                event.event_type,
                event.event_id,
                event.dealership_id,
                outcome.ignored,
            )
        work.add(outcome.order)
        work.decide(*outcome.decisions)

    def decide(self, order: RepairOrder | None, event: WorkshopEvent) -> Outcome:
        if isinstance(event, ServiceCheckedIn):
            return rules.check_in(order, event)
        if isinstance(event, RepairScopeChanged):
            return rules.change_scope(order, event, self.settings.policy(event.dealership_id))
        if isinstance(event, ScopeChangeApproved):
            return rules.approve_scope(order, event)
        if isinstance(event, ScopeChangeDeclined):
            return rules.decline_scope(order, event)
        return rules.complete(order, event)
