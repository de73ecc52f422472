"""A deciding service names the event types its handler acts on (`handles()`, from what the
handler dispatches on) and its consumer passes over the others by their subject alone
(laoke/consumer.py): no decoding, no keys loaded. So the names must be exactly the types
the handler acts on; a type left out would be dropped unseen."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from events import (
    EVENT_TYPES,
    INBOUND_TYPES,
    RECORDED_ONLY_TYPES,
    ComplaintFiled,
    Event,
    FollowUpDue,
    InboundEvent,
    parse_recorded,
    retention_subject,
    to_json,
    type_names,
)
from events.factories import SAMPLE_CUSTOMER_ID, sample_inbound, sample_recorded
from laoke.bench.handling import delivered
from laoke.clock import ManualClock
from laoke.consumer import RetentionConsumer
from laoke.eventstore import ServiceApplication
from laoke.registry import SERVICES, entry
from laoke.service import RetentionService
from laoke.settings import LaokeSettings
from laoke.work import UnitOfWork
from services.complaints.ids import callback_follow_up_id

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _class(target: str) -> type:
    module, _, name = target.partition(":")
    found: type = getattr(importlib.import_module(module), name)
    return found


DECIDING = [s.name for s in SERVICES if issubclass(_class(s.service_class), RetentionService)]
# Each follow-up one of a service's own (complaints' call-back, referrals' callback), so
# the handlers that look only at their own find something to look at.
OURS = {"follow_up_id": callback_follow_up_id(uuid4()), "referral_id": "rf-0001"}


def sample(event_type: str) -> Event:
    """An event of the type as RETENTION carries it (an inbound one with its customer)."""
    if event_type in RECORDED_ONLY_TYPES:
        raw = sample_recorded(event_type)
    else:
        raw = sample_inbound(event_type)
        ids = {"correlation_id": raw["event_id"], "causation_id": raw["event_id"]}
        raw |= {"customer_id": SAMPLE_CUSTOMER_ID, **ids}
    fields = EVENT_TYPES[event_type].model_fields
    raw |= {k: v for k, v in OURS.items() if k in fields}
    return parse_recorded(json.dumps(raw).encode())


def acts_on(service: RetentionService, event: Event) -> bool:
    """Whether the handler did anything with the event: looked at the store, decided,
    dead-lettered."""
    work = UnitOfWork(service.app)
    service.consumer.handle(work, event)
    return bool(work.loaded or work.decisions or work.letters)


def test_every_deciding_service_is_checked() -> None:
    assert set(DECIDING) == {"complaints", "outreach", "referrals", "workshop"}


@pytest.mark.parametrize("name", DECIDING)
def test_a_service_names_exactly_the_types_its_handler_acts_on(name: str, tmp_path: Path) -> None:
    service = entry(name).build(LaokeSettings(data_dir=tmp_path), ManualClock(NOW))
    assert isinstance(service, RetentionService)
    try:
        handles = service.handles()
        assert handles is not None and handles == service.consumer.handles
        assert handles <= EVENT_TYPES.keys()
        assert {t for t in EVENT_TYPES if acts_on(service, sample(t))} == handles
    finally:
        service.app.close()


def test_type_names_take_subclasses_from_the_registry() -> None:
    assert type_names((InboundEvent,)) == INBOUND_TYPES
    assert type_names((ComplaintFiled, FollowUpDue)) == {"ComplaintFiled", "FollowUpDue"}
    assert type_names(()) == frozenset()


class Keys:
    """A keyring that notes which customers' keys were asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def load(self, customer_ids: Iterable[str]) -> None:
        self.asked.extend(customer_ids)


async def test_no_key_is_loaded_nor_box_opened_for_a_type_not_handled(
    tmp_path: Path,
) -> None:
    """A sealed message of another type (its box unreadable) costs no key request and no
    dead letter; the run's position still reaches its end."""
    app = ServiceApplication(LaokeSettings(data_dir=tmp_path), "skips")
    seen: list[str] = []
    keys = Keys()
    consumer = RetentionConsumer(
        "skips",
        app,
        lambda work, event: seen.append(event.event_type),
        keyring=keys,  # type: ignore[arg-type]
        handles=frozenset({"FollowUpDue"}),
    )
    due = sample("FollowUpDue")
    sealed = b'{"event_type":"ComplaintFiled","sealed":{"key":"c-sealed","box":"??"}}'
    run = delivered(
        consumer.durable,
        [
            (
                retention_subject(due.dealership_id, SAMPLE_CUSTOMER_ID, "FollowUpDue"),
                to_json(due),
                None,
            ),
            (retention_subject(due.dealership_id, "c-sealed", "ComplaintFiled"), sealed, None),
        ],
    )
    try:
        await consumer.apply(run)
        assert keys.asked == [] and seen == ["FollowUpDue"]
        assert list(app.outbox_after(0, 100)) == [], "nothing dead-lettered"
        assert app.tracked_position(consumer.durable) == 2
    finally:
        app.close()
