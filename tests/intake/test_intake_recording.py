"""Intake on a real nats-server: every inbound type recorded once, under its customer."""

from __future__ import annotations

from intake_support import inbound, publish, read_stream, wait_count
from nats.js import JetStreamContext

from events import CONTRACT_INBOUND_TYPES, parse_recorded, parse_retention_subject
from services.intake.service import IntakeService


async def test_each_inbound_type_lands_on_retention_once_under_the_canonical_customer(
    intake: IntakeService, js: JetStreamContext
) -> None:
    sent = {t: inbound(t) for t in sorted(CONTRACT_INBOUND_TYPES)}
    assert len(sent) == 16
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
