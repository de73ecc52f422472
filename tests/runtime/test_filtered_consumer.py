"""A deciding service's consumer is filtered to the event types it handles: the server
passes the others over, so the stream positions it sees have holes by design, and a batch
lost in flight is found by the consumer's delivery numbers instead (laoke/durable.py)."""

from __future__ import annotations

import asyncio
import json
import uuid

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from events import Event, retention_subject
from events.factories import sample_recorded
from laoke.consumer import RetentionConsumer
from laoke.durable import delivery_sequence, stream_sequence, unbroken_deliveries
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from laoke.work import UnitOfWork
from tests.waiting import wait_for

HANDLED = frozenset({"FollowUpDue"})


def delivery(stream_seq: int, delivery_seq: int) -> Msg:
    """A message as a consumer delivers it: its ack subject carries both numbers."""
    reply = f"$JS.ACK.{RETENTION}.svc.1.{stream_seq}.{delivery_seq}.1700000000000000000.0"
    return Msg(_client=None, subject="retention.d.c.FollowUpDue", reply=reply)  # type: ignore[arg-type]


def seqs(messages: list[Msg]) -> list[int]:
    return [stream_sequence(m) for m in messages]


def test_holes_in_the_stream_positions_are_no_gap_when_every_delivery_arrived() -> None:
    batch = [delivery(2, 1), delivery(5, 2), delivery(9, 3)]
    assert unbroken_deliveries(batch, 0, 0) == (batch, False)
    assert unbroken_deliveries([delivery(12, 4)], 9, 3) == ([delivery(12, 4)], False)


def test_a_missing_delivery_number_breaks_the_batch_before_it() -> None:
    batch = [delivery(2, 1), delivery(9, 3)]  # delivery 2 was lost in flight
    run, broken = unbroken_deliveries(batch, 0, 0)
    assert (seqs(run), broken) == ([2], True)
    run, broken = unbroken_deliveries([delivery(9, 3)], 0, 0)
    assert (run, broken) == ([], True), "a fresh consumer's first delivery must be number 1"


def test_redeliveries_of_what_was_handled_are_left_out() -> None:
    batch = [delivery(2, 4), delivery(5, 5), delivery(9, 6)]
    run, broken = unbroken_deliveries(batch, 5, 3)
    assert (seqs(run), broken) == ([9], False)


def test_a_position_behind_the_run_breaks_it() -> None:
    batch = [delivery(5, 1), delivery(9, 2), delivery(7, 3)]
    run, broken = unbroken_deliveries(batch, 0, 0)
    assert (seqs(run), broken) == ([5, 9], True)


def assert_delivery_numbers_read_like_nats_py(message: Msg) -> None:
    assert delivery_sequence(message) == message.metadata.sequence.consumer


async def publish_mixed(js: JetStreamContext, count: int) -> list[str]:
    """`count` follow-ups, each after a follow-up skipped (a type the service does not
    handle); the follow-ups' event ids in stream order."""
    ids = []
    for n in range(count):
        skipped = sample_recorded("FollowUpSkipped", event_id=str(uuid.uuid4()))
        subject = retention_subject(
            skipped["dealership_id"], skipped["customer_id"], "FollowUpSkipped"
        )
        await js.publish(subject, json.dumps(skipped).encode())
        due = sample_recorded("FollowUpDue", event_id=str(uuid.UUID(int=n + 1)))
        due["follow_up_id"] = f"fu-{n + 1}"
        subject = retention_subject(due["dealership_id"], due["customer_id"], "FollowUpDue")
        await js.publish(subject, json.dumps(due).encode())
        ids.append(due["event_id"])
    return ids


async def test_the_server_delivers_only_the_handled_types_and_a_lost_batch_is_read_again(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    seen: list[str] = []

    def handle(work: UnitOfWork, event: Event) -> None:
        assert event.event_type in HANDLED, "the server passed the other types over"
        seen.append(str(event.event_id))

    app = ServiceApplication(settings, "filtered")
    runner = RetentionConsumer("filtered", app, handle, handles=HANDLED).runner()
    try:
        await runner.durable.start_at(js, 0)
        ids = await publish_mixed(js, 6)
        pull = await js.pull_subscribe_bind(runner.durable.name, stream=RETENTION)
        messages = await pull.fetch(6, timeout=5)
        assert [m.subject.rpartition(".")[2] for m in messages] == ["FollowUpDue"] * 6
        assert seqs(messages) == [2, 4, 6, 8, 10, 12]
        assert_delivery_numbers_read_like_nats_py(messages[0])

        assert await runner.handle(js, messages[:2])
        assert not await runner.handle(js, messages[4:]), "deliveries 3 and 4 were lost"
        assert seen == ids[:2] and app.tracked_position("filtered") == 4
        await pull.unsubscribe()

        stopping = asyncio.Event()
        running = asyncio.create_task(runner.run(js, stopping))  # re-created at position 4
        await wait_for(lambda: len(seen) == 6, what="the rest handled")
        stopping.set()
        await running
        assert seen == ids, "every follow-up handled once, in stream order"
        assert app.tracked_position("filtered") == 12
    finally:
        app.close()
