"""A service's durable consumer of RETENTION: in order, exactly once in effect.

The service's store is the truth about what was handled (tracking records): the durable
consumer delivers from the first position not yet tracked, and only an unbroken run of
positions is handled (laoke/durable.py). Each message is handled by a plain function
returning the changes to save; the changes, the decisions and the position are committed
in one transaction, then the message is acked. A message that keeps failing is
dead-lettered (through the outbox) after `max_tries`, so it neither blocks the consumer
nor vanishes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from events import Event, Rejected, parse_recorded
from laoke.dlq import dead_letter
from laoke.durable import DurableConsumer, stream_sequence, unbroken
from laoke.eventstore import ServiceApplication
from laoke.metrics import CONSUMER_LAG, DECISIONS, HANDLED, HANDLER_SECONDS
from laoke.partitions import RETENTION_TOKEN, WHOLE, Partition
from laoke.streams import RETENTION

log = logging.getLogger(__name__)


def batch_of(msg: NatsMessage) -> list[Msg]:
    """The raw messages of a pulled batch (faststream types raw_message as one Msg)."""
    raw: Any = msg.raw_message
    return list(raw)


@dataclass
class Changes:
    """What handling one event changed: aggregates to save and decisions to record."""

    aggregates: list[Aggregate] = field(default_factory=list)
    decisions: list[Event] = field(default_factory=list)

    def add(self, *aggregates: Aggregate | None) -> None:
        self.aggregates.extend(a for a in aggregates if a is not None)

    def decide(self, *decisions: Event) -> None:
        self.decisions.extend(decisions)

    def changed(self) -> bool:
        return bool(self.decisions) or any(a.pending_events for a in self.aggregates)


Handler = Callable[[Event], Changes | None]


@dataclass
class RetentionConsumer:
    service: str
    app: ServiceApplication
    handle: Handler
    max_tries: int = 3
    batch_size: int = 200
    on_committed: Callable[[], None] = lambda: None
    partition: Partition = WHOLE
    js: JetStreamContext | None = field(default=None, repr=False)

    @property
    def durable(self) -> str:
        return self.partition.durable(self.service)

    @property
    def consumer(self) -> DurableConsumer:
        return DurableConsumer(self.durable)

    async def prepare(self, js: JetStreamContext) -> None:
        """(Re)create the durable consumer at the first position the store has not tracked."""
        self.js = js
        await self.consumer.start_at(js, self.app.tracked_position(self.durable))

    def subscribe(self, broker: NatsBroker) -> None:
        @broker.subscriber(
            self.consumer.filter_subject,
            stream=JStream(RETENTION, declare=False),
            durable=self.durable,
            pull_sub=PullSub(batch_size=self.batch_size, timeout=0.05, batch=True),
            ack_policy=AckPolicy.MANUAL,
            title=f"{self.service}/RETENTION",
            description=f"{self.service} consumes recorded events (durable '{self.durable}').",
        )
        async def on_batch(msg: NatsMessage) -> None:
            await self.handle_batch(batch_of(msg))

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        started = time.perf_counter()
        broken_at = await asyncio.to_thread(self._apply, messages)
        if broken_at is None:
            for message in messages:
                await message.ack()
        elif self.js is not None:
            await self.consumer.resume(self.js, broken_at)  # the rest is delivered again
        HANDLED.labels(self.service).inc(len(messages))
        HANDLER_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        if messages:
            CONSUMER_LAG.labels(self.durable).set(messages[-1].metadata.num_pending)
        self.on_committed()

    def _apply(self, messages: Sequence[Msg]) -> int | None:
        """Handle the batch's unbroken run from the tracked position, in order; returns the
        position reached when the batch broke off at a gap (None when it did not).

        Messages that change nothing (most, for any one service) are not committed one by
        one: the position is committed with the next change or at the end of the batch.
        Redone after a crash, they would again change nothing."""
        with self.app.lock:
            done = self.app.tracked_position(self.durable)
            run, broken = unbroken(messages, done)
            unsaved = done
            for message in run:
                position = stream_sequence(message)
                if self.partition.owns(message.subject, RETENTION_TOKEN) and self._apply_one(
                    message, position
                ):
                    done = position
                unsaved = position
            if unsaved > done:
                self.app.commit(tracking=Tracking(self.durable, unsaved))
            return unsaved if broken else None

    def _apply_one(self, message: Msg, position: int) -> bool:
        """Handle one message; True when something (and so the position) was committed."""
        tracking = Tracking(self.durable, position)
        origin = f"{RETENTION}:{position}"
        try:
            event = parse_recorded(message.data)
        except Rejected as rejected:
            letter = dead_letter(
                self.service,
                rejected.reason,
                str(rejected),
                message.data,
                message.headers,
                origin=origin,
                subject=message.subject,
            )
            self.app.commit(letters=[letter], tracking=tracking)
            return True
        error: Exception | None = None
        for _ in range(self.max_tries):
            try:
                changes = self.handle(event) or Changes()
                if not changes.changed():
                    return False
                self.app.commit(*changes.aggregates, decisions=changes.decisions, tracking=tracking)
            except Exception as exc:  # a poison message: retry, then dead-letter it
                error = exc
                log.warning("%s failed on %s: %r", self.service, origin, exc)
                continue
            for decision in changes.decisions:
                DECISIONS.labels(self.service, decision.event_type).inc()
            return True
        letter = dead_letter(
            self.service,
            "handler_error",
            f"{type(error).__name__}: {error}",
            message.data,
            message.headers,
            origin=origin,
            subject=message.subject,
        )
        self.app.commit(letters=[letter], tracking=tracking)
        return True
