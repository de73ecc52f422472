"""A batch cut off in flight: its first messages never reach the service, the server counts
them delivered and would send them again only after `ack_wait`, behind newer ones. The
runner must not hand the newer ones over first (then skip the late ones as "handled
before": decisions lost after crashes, fault seed 1), but re-read from the stored position.
Where the stream no longer holds a position (DEALER_IN forgets after 7 days), it goes on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from events import Event, retention_subject
from events.factories import sample_recorded
from laoke.clock import SystemClock
from laoke.consumer import RetentionConsumer
from laoke.durable import DurableConsumer, stream_sequence
from laoke.eventstore import ServiceApplication
from laoke.runner import StreamConsumer
from laoke.settings import LaokeSettings
from laoke.streams import DEALER_IN, RETENTION
from laoke.work import UnitOfWork
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


async def pulled(js: JetStreamContext, durable: str) -> list[Msg]:
    """Every message published, as the durable consumer delivers them."""
    pull = await js.pull_subscribe_bind(durable, stream=RETENTION)
    messages = await pull.fetch(COUNT, timeout=5)
    assert len(messages) == COUNT
    return messages


async def test_a_service_handles_every_position_in_order_after_a_lost_batch(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    seen: list[str] = []

    def handle(work: UnitOfWork, event: Event) -> None:
        seen.append(str(event.event_id))

    app = ServiceApplication(settings, "gaps")
    runner = RetentionConsumer("gaps", app, handle).runner()
    try:
        await runner.durable.start_at(js, 0)
        ids = await publish_follow_ups(js)
        messages = await pulled(js, runner.durable.name)
        assert not await runner.handle(js, messages[2:]), "positions 1 and 2 were lost"
        assert seen == [] and app.tracked_position("gaps") == 0, "nothing handled past a gap"
        assert await runner.handle(js, messages)  # as the re-created consumer delivers them
        assert seen == ids, "every position handled once, in stream order"
    finally:
        app.close()


async def test_projections_apply_every_position_after_a_lost_batch(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    service = ProjectionsService(settings, SystemClock())
    runner = service.workers[0].consumer
    try:
        await runner.durable.start_at(js, 0)
        await publish_follow_ups(js)
        messages = await pulled(js, runner.durable.name)
        assert not await runner.handle(js, messages[2:])
        assert service.store.position("projections") == 0, "nothing applied past the gap"
        assert await runner.handle(js, messages)
        assert service.store.position("projections") == COUNT
        rows = service.store.query("SELECT follow_up_id FROM followups")
        assert {row[0] for row in rows} == {f"fu-{n + 1}" for n in range(COUNT)}
    finally:
        service.store.close()


async def test_a_position_the_stream_no_longer_holds_is_not_waited_for(
    js: JetStreamContext,
) -> None:
    handled: list[int] = []

    async def apply(run: Sequence[Msg]) -> None:
        handled.extend(stream_sequence(m) for m in run)

    durable = DurableConsumer("holes", stream=DEALER_IN, filter_subject="dealer.in.>")
    runner = StreamConsumer("holes", durable, lambda: 0, apply)
    for n in range(3):
        await js.publish("dealer.in.demo-4s.CustomerVisited", f"{n}".encode())
    await js.delete_msg(DEALER_IN, 1)  # as if it had expired (DEALER_IN keeps 7 days)
    await durable.start_at(js, 0)
    pull = await js.pull_subscribe_bind("holes", stream=DEALER_IN)
    assert await runner.handle(js, await pull.fetch(2, timeout=5))
    assert handled == [2, 3]
