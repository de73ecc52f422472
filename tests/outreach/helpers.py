"""Building recorded events as intake would put them on RETENTION, and waiting politely."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from events import EVENT_TYPES, Event
from events.factories import sample_inbound, sample_recorded
from laoke.clock import ManualClock
from laoke.deadlines import Deadline, DeadlineIndex, Ticker, deadline_id
from laoke.work import UnitOfWork
from services.outreach.aggregates import ContactPlan, plan_id
from services.outreach.application import Outreach
from services.outreach.slots import next_slot, plan_deadline_key

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


def plan_deadline(outreach: Outreach, plan: ContactPlan) -> Deadline | None:
    found: object = outreach.app.get_or_none(deadline_id(plan_deadline_key(plan.id)))
    return found if isinstance(found, Deadline) else None


def fire(
    outreach: Outreach, clock: ManualClock, slot: str, customer: str = CUSTOMER
) -> list[Event]:
    """What the ticker does as the clock passes the slot's time (+5 min): the plan's deadline
    fires each slot due before it, each at its own time, then `slot`; that firing's
    decisions."""
    while True:
        plan = plan_of(outreach, customer)
        found, deadline = next_slot(plan.deadlines), plan_deadline(outreach, plan)
        assert found is not None and deadline is not None and deadline.pending, plan.deadlines
        assert deadline.due_at == found[1], "the plan's deadline is due at its earliest slot"
        clock.set(max(clock.now(), deadline.due_at + timedelta(minutes=5)))
        fired = Ticker(outreach.app, DeadlineIndex(), clock, outreach.on_deadline).fire(deadline.id)
        assert fired is not None
        if found[0] == slot:
            return list(fired.decisions)


def deadline_pending(outreach: Outreach, key: str) -> bool:
    """Whether a deadline is still pending for the slot scheduled as `key` (the slot keeps
    that key and its plan's deadline is pending at its time or before)."""
    _, plan, slot, due_at, _ = key.split("|")
    state: object = outreach.app.get_or_none(uuid.UUID(plan))
    assert isinstance(state, ContactPlan)
    deadline = plan_deadline(outreach, state)
    return (
        state.deadlines.get(slot) == key
        and deadline is not None
        and deadline.pending
        and deadline.due_at <= datetime.fromisoformat(due_at)
    )
