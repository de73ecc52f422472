"""A batch cut off in flight: its first messages never reach the service, the server counts
them delivered and would send them again only after `ack_wait`, behind newer ones. Both
kinds of RETENTION consumer must re-read from their position instead of handling the newer
messages first and then skipping the late ones as "handled before" (fault seed 1)."""

from __future__ import annotations

import json
import uuid

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from waiting import wait_for

from events import Event, retention_subject
from events.factories import sample_recorded
from laoke.clock import SystemClock
from laoke.consumer import Changes, RetentionConsumer
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.projections.service import ProjectionsService

COUNT = 5


async def publish_follow_ups(js: JetStreamContext) -> list[str]:
    ids = []
    for n in range(COUNT):
        event = sample_recorded("FollowUpDue", event_id=str(uuid.UUID(int=n + 1)))
        event["follow_up_id"] = f"fu-{n + 1}"
        subject = retention_subject(event["dealership_id"], event["customer_id"], "FollowUpDue")
        await js.publish(subject, json.dumps(event).encode())
        ids.append(event["event_id"])
    return ids


async def lose_in_flight(js: JetStreamContext, durable: str, count: int) -> None:
    """Take the first `count` messages off the durable consumer and drop them unacked."""
    stolen = await js.pull_subscribe_bind(durable, stream=RETENTION)
    assert len(await stolen.fetch(count, timeout=5)) == count
    await stolen.unsubscribe()


async def test_a_service_consumer_handles_every_position_in_order_after_a_lost_batch(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    seen: list[str] = []

    def handle(event: Event) -> Changes | None:
        seen.append(str(event.event_id))
        return None

    app = ServiceApplication(settings, "gaps")
    consumer = RetentionConsumer("gaps", app, handle)
    broker = NatsBroker(settings.nats_url)
    consumer.subscribe(broker)
    try:
        await consumer.prepare(js)
        ids = await publish_follow_ups(js)
        await lose_in_flight(js, consumer.durable, 2)
        await broker.start()
        await wait_for(lambda: app.tracked_position(consumer.durable) == COUNT, what="all handled")
        assert seen == ids, "every position handled once, in stream order"
    finally:
        await broker.stop()
        app.close()


async def test_projections_apply_every_position_after_a_lost_batch(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    service = ProjectionsService(settings, SystemClock())
    try:
        await service.prepare(js)
        await publish_follow_ups(js)
        await lose_in_flight(js, "projections", 2)
        pull = await js.pull_subscribe_bind("projections", stream=RETENTION)
        await service.handle_messages(await pull.fetch(COUNT, timeout=5))  # positions 3..5
        assert service.store.position("projections") == 0, "nothing applied past the gap"
        await service.handle_messages(await pull.fetch(COUNT, timeout=5))  # re-read from 1
        assert service.store.position("projections") == COUNT
        follow_ups = {row[0] for row in service.store.query("SELECT follow_up_id FROM followups")}
        assert follow_ups == {f"fu-{n + 1}" for n in range(COUNT)}
    finally:
        service.store.close()
