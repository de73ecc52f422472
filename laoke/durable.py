"""A durable consumer of RETENTION that hands a service the stream in order, without gaps.

The service's store, not the server, knows what was handled (its position). At start, and
whenever a pulled batch does not continue from that position, the durable consumer is
(re)created to deliver from the position + 1.

Why a gap can happen: JetStream counts a message as delivered once it sent it. A batch cut
off in flight (nats-server killed while sending it, a connection dropped) stays unacked on
the server and comes back only after `ack_wait`, behind newer messages. Handling the newer
ones first and skipping the late ones as "handled before" lost decisions after crashes
(fault seed 1, docs/reliability.md). RETENTION denies deletes and purges, so its positions
have no holes: a message other than position + 1 after the position is always such a gap.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from laoke.streams import RETENTION

log = logging.getLogger(__name__)


def stream_sequence(message: Msg) -> int:
    """`message.metadata.sequence.stream`, read straight from the ack subject
    (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.…`) without building the whole
    metadata (a datetime and two dataclasses: a sixth of the client's cost per message);
    any other form of subject goes through nats-py."""
    tokens = (message.reply or "").split(".")
    if len(tokens) == 9 and tokens[0] == "$JS" and tokens[1] == "ACK":
        return int(tokens[5])
    return int(message.metadata.sequence.stream)


def unbroken(messages: Sequence[Msg], position: int) -> tuple[list[Msg], bool]:
    """The messages of a batch that continue the stream from `position` (what was handled),
    and whether the batch broke off at a gap. Messages at or before `position` are
    redeliveries of what was handled already and are left out."""
    run: list[Msg] = []
    expected = position + 1
    for message in messages:
        sequence = stream_sequence(message)
        if sequence < expected:
            continue
        if sequence > expected:
            return run, True
        run.append(message)
        expected += 1
    return run, False


@dataclass(frozen=True)
class DurableConsumer:
    """The server side of a service's RETENTION consumer: its name and settings."""

    name: str
    ack_all: bool = False  # one ack per batch (projections) instead of one per message
    filter_subject: str = "retention.>"

    async def start_at(self, js: JetStreamContext, position: int) -> None:
        """(Re)create the consumer to deliver from `position` + 1."""
        try:
            await js.delete_consumer(RETENTION, self.name)
        except NotFoundError:
            pass
        await js.add_consumer(
            RETENTION,
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

    async def resume(self, js: JetStreamContext, position: int) -> None:
        """A pulled batch broke off at a gap: deliver again from `position` + 1."""
        log.warning("%s: a batch skipped RETENTION:%d; re-reading from it", self.name, position + 1)
        await self.start_at(js, position)
