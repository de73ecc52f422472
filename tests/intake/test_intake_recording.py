"""Intake on a real nats-server: every inbound type recorded once, under its customer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from intake_support import inbound, publish, read_stream, wait_count
from nats.js import JetStreamContext

from events import CONTRACT_INBOUND_TYPES, parse_recorded, parse_retention_subject
from laoke.clock import ManualClock
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from services.intake.application import Inbound, Intake
from services.intake.service import IntakeService
from services.intake.settings import IntakeSettings


async def test_each_inbound_type_lands_on_retention_once_under_the_canonical_customer(
    intake: IntakeService, js: JetStreamContext
) -> None:
    # A split names a recorded merge (the sample's is unknown: test_intake_splits.py); an
    # erasure request is shown in tests/intake/test_erasure_e2e.py (it records more)
    left_out = {"CustomerSplitRequested", "PersonalDataErasureRequested"}
    sent = {t: inbound(t) for t in sorted(CONTRACT_INBOUND_TYPES - left_out)}
    assert len(sent) == 16
    before = datetime.now(UTC)
    for event in sent.values():
        await publish(js, event)
    await wait_count(js, "RETENTION", 16)

    recorded = await read_stream(js, "RETENTION")
    assert len(recorded) == 16
    customers = set()
    for message in recorded:
        event = parse_recorded(message.data)
        subject = parse_retention_subject(message.subject)
        assert str(event.event_id) == sent[event.event_type]["event_id"]
        assert message.headers["Nats-Msg-Id"] == str(event.event_id)
        assert (subject.dealership_id, subject.event_type) == ("demo-4s", event.event_type)
        assert subject.customer_id == event.customer_id
        assert event.correlation_id == event.event_id == event.causation_id
        assert event.received_at is not None and before <= event.received_at <= datetime.now(UTC)
        customers.add(event.customer_id)
    assert len(customers) == 1, "all samples name the same phone: one customer"
    assert await js.stream_info("RETENTION_DLQ") and (
        (await js.stream_info("RETENTION_DLQ")).state.messages == 0
    )


async def test_the_same_event_sent_twice_is_recorded_once(
    intake: IntakeService, js: JetStreamContext
) -> None:
    event = inbound("CustomerVisited")
    await publish(js, event)
    await publish(js, event)
    marker = inbound("CustomerVisited")
    await publish(js, marker)  # once the marker is in, both copies were handled
    await wait_count(js, "RETENTION", 2)
    ids = [m.json()["event_id"] for m in await read_stream(js, "RETENTION")]
    assert ids == [event["event_id"], marker["event_id"]]


def test_received_at_is_when_the_event_reached_laoke_not_when_intake_got_to_it(
    tmp_path: Path,
) -> None:
    """A message that waited in DEALER_IN (intake busy or down) was received when it was
    stored there: `received_at` = the clock's now less the wait."""
    now = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)
    app = ServiceApplication(LaokeSettings(data_dir=tmp_path), "intake")
    try:
        intake = Intake(app, IntakeSettings(), ManualClock(now))
        event = inbound("CustomerVisited", occurred_at="2026-01-20T09:30:00+08:00")
        waited = Inbound(json.dumps(event).encode(), None, None, "t:1", timedelta(minutes=40))
        (verdict,) = intake.record_batch([waited])
        assert verdict.status == "accepted"
        assert app.in_outbox(UUID(event["event_id"]))  # the outbox, keyed by event id
        ((_, message),) = app.outbox_after(0, 10)
        recorded = parse_recorded(message.body)
        assert recorded.received_at == now - timedelta(minutes=40)
    finally:
        app.close()
