"""A durable JetStream consumer that hands a service its stream in order, without gaps.

The service's store, not the server, knows what was handled (its position). At start, and
whenever a pulled batch does not continue from that position, the durable consumer is
(re)created to deliver from the position + 1.

Why a gap can happen: JetStream counts a message as delivered once it sent it. A batch cut
off in flight (nats-server killed while sending it, a connection dropped) stays unacked on
the server and comes back only after `ack_wait`, behind newer messages. Handling the newer
ones first and skipping the late ones as "handled before" lost decisions after crashes
(fault seed 1, docs/reliability.md). RETENTION denies deletes and purges, so its positions
have no holes; DEALER_IN forgets messages after 7 days: the runner asks the stream whether
the next position still exists before it waits for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from laoke.streams import RETENTION


def stream_sequence(message: Msg) -> int:
    """`message.metadata.sequence.stream`, read straight from the ack subject
    (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.…`) without building the whole
    metadata (a datetime and two dataclasses: a sixth of the client's cost per message);
    any other form of subject goes through nats-py."""
    tokens = (message.reply or "").split(".")
    if len(tokens) == 9 and tokens[0] == "$JS" and tokens[1] == "ACK":
        return int(tokens[5])
    return int(message.metadata.sequence.stream)


def stream_timestamp(message: Msg) -> datetime:
    """When the stream stored `message` (wall clock), from the ack subject's nanoseconds
    token like `stream_sequence`, or through nats-py for any other form."""
    tokens = (message.reply or "").split(".")
    if len(tokens) == 9 and tokens[0] == "$JS" and tokens[1] == "ACK":
        return datetime.fromtimestamp(int(tokens[7]) / 1e9, UTC)
    return message.metadata.timestamp


def unbroken(
    messages: Sequence[Msg], position: int, hole_ok: bool = False
) -> tuple[list[Msg], bool]:
    """The messages of a batch that continue the stream from `position` (what was handled),
    and whether the batch broke off at a gap. Messages at or before `position` are
    redeliveries of what was handled already and are left out. With `hole_ok`, the first
    new message may lie past position + 1 (the positions in between no longer exist)."""
    run: list[Msg] = []
    expected = position + 1
    for message in messages:
        sequence = stream_sequence(message)
        if sequence < expected:
            continue
        if sequence > expected and not (hole_ok and not run):
            return run, True
        run.append(message)
        expected = sequence + 1
    return run, False


@dataclass(frozen=True)
class DurableConsumer:
    """The server side of a service's consumer: its stream, name and settings."""

    name: str
    stream: str = RETENTION
    filter_subject: str = "retention.>"
    ack_all: bool = False  # one ack per batch (projections) instead of one per message

    async def start_at(self, js: JetStreamContext, position: int) -> None:
        """(Re)create the consumer to deliver from `position` + 1."""
        try:
            await js.delete_consumer(self.stream, self.name)
        except NotFoundError:
            pass
        await js.add_consumer(
            self.stream,
            ConsumerConfig(
                durable_name=self.name,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=position + 1,
                ack_policy=AckPolicy.ALL if self.ack_all else AckPolicy.EXPLICIT,
                ack_wait=120,
                max_ack_pending=20_000,
                filter_subject=self.filter_subject,
            ),
        )
