"""Building recorded events as intake would put them on RETENTION, and waiting politely."""

from __future__ import annotations

import uuid
from typing import Any

from events import EVENT_TYPES, Event
from events.factories import sample_inbound, sample_recorded
from laoke.work import UnitOfWork
from services.outreach.aggregates import ContactPlan, plan_id
from services.outreach.application import Outreach

CUSTOMER = "c-0001"
DEALER = "demo-4s"


def recorded(event_type: str, /, customer_id: str = CUSTOMER, **overrides: Any) -> Event:
    """An inbound sample as intake records it (customer_id and audit links set)."""
    data = sample_inbound(event_type, **overrides)
    data["customer_id"] = customer_id
    data["correlation_id"] = data["causation_id"] = data["event_id"]
    return EVENT_TYPES[event_type].model_validate(data, context={"trusted": True})


def decision_from(event_type: str, /, customer_id: str = CUSTOMER, **overrides: Any) -> Event:
    """A recorded-only event another service recorded (e.g. a complaint call-back)."""
    data = sample_recorded(event_type, customer_id=customer_id, **overrides)
    data.setdefault("event_id", str(uuid.uuid4()))
    return EVENT_TYPES[event_type].model_validate(data, context={"trusted": True})


def feed(outreach: Outreach, *events: Event) -> list[Event]:
    """Handle each event in its own unit of work, as the consumer does; the decisions."""
    decided: list[Event] = []
    for event in events:
        work = UnitOfWork(outreach.app)
        outreach.handle(work, event)
        work.commit()
        decided.extend(work.decisions)
    return decided


def plan_of(outreach: Outreach, customer: str = CUSTOMER) -> ContactPlan:
    found: object = outreach.app.repository.get(plan_id(DEALER, customer))
    assert isinstance(found, ContactPlan)
    return found
