"""A service's durable consumer of RETENTION: in order, exactly once in effect.

The service's store is the truth about what was handled (tracking records), so at start the
durable consumer is (re)created to deliver from the first position not yet tracked. Each
message is handled by a plain function returning the changes to save; a pulled batch's
changes, decisions and last position are committed in one transaction, then the messages
are acked. Should a handler fail, the batch is redone message by message, and a message
that keeps failing is dead-lettered (through the outbox) after `max_tries`, so it neither
blocks the consumer nor vanishes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from events import Event, Rejected, parse_recorded
from laoke.dlq import dead_letter
from laoke.eventstore import ServiceApplication
from laoke.metrics import CONSUMER_LAG, DECISIONS, HANDLED, HANDLER_SECONDS
from laoke.partitions import RETENTION_TOKEN, WHOLE, Partition
from laoke.publishing import Outgoing
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
    filter_subject: str = "retention.>"
    max_tries: int = 3
    batch_size: int = 200
    on_committed: Callable[[], None] = lambda: None
    partition: Partition = WHOLE

    @property
    def durable(self) -> str:
        return self.partition.durable(self.service)

    async def prepare(self, js: JetStreamContext) -> None:
        """(Re)create the durable consumer at the first position the store has not tracked."""
        start = self.app.tracked_position(self.durable) + 1
        try:
            await js.delete_consumer(RETENTION, self.durable)
        except NotFoundError:
            pass
        await js.add_consumer(
            RETENTION,
            ConsumerConfig(
                durable_name=self.durable,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start,
                ack_policy=JsAckPolicy.EXPLICIT,
                ack_wait=120,
                max_ack_pending=20_000,
                filter_subject=self.filter_subject,
            ),
        )

    def subscribe(self, broker: NatsBroker) -> None:
        @broker.subscriber(
            self.filter_subject,
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
        await asyncio.to_thread(self._apply, messages)
        for message in messages:
            await message.ack()
        HANDLED.labels(self.service).inc(len(messages))
        HANDLER_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        if messages:
            CONSUMER_LAG.labels(self.durable).set(messages[-1].metadata.num_pending)
        self.on_committed()

    def _apply(self, messages: Sequence[Msg]) -> None:
        """Handle a batch in order, committed in one transaction with the last position."""
        with self.app.lock:
            done = self.app.tracked_position(self.durable)
            positioned = ((m, m.metadata.sequence.stream) for m in messages)
            self._apply_batch([(m, p) for m, p in positioned if p > done])  # not handled yet

    def _apply_batch(self, todo: Sequence[tuple[Msg, int]]) -> None:
        """Should a handler fail, the messages before it are redone and committed together,
        the failing one is retried (then dead-lettered) on its own, and the rest go on
        together. Should the batch fail otherwise (its commit, say), it is redone message
        by message."""
        while todo:
            try:
                decisions = self._apply_together(todo)
            except HandlerFailed as failed:
                self._apply_batch(todo[: failed.index])
                message, position = todo[failed.index]
                if not self._apply_one(message, position, failed.error):
                    self.app.commit(tracking=Tracking(self.durable, position))
                todo = todo[failed.index + 1 :]
                continue
            except Exception as exc:
                log.info("%s: batch redone message by message (%r)", self.service, exc)
                self._apply_each(todo)
                return
            for decision in decisions:
                DECISIONS.labels(self.service, decision.event_type).inc()
            return

    def _apply_together(self, todo: Sequence[tuple[Msg, int]]) -> list[Event]:
        """Handle every message against one batch cache (laoke.eventstore.BatchCache), then
        commit all the changes and the last position together; the decisions taken.
        Raises, having committed nothing, if a handler fails (`HandlerFailed`) or the
        messages cannot be handled together (`Unbatchable`)."""
        changed: dict[UUID, Aggregate] = {}
        decisions: list[Event] = []
        letters: list[Outgoing] = []
        with self.app.batch() as cache:
            for index, (message, position) in enumerate(todo):
                if not self.partition.owns(message.subject, RETENTION_TOKEN):
                    continue
                try:
                    event = parse_recorded(message.data)
                except Rejected as rejected:
                    letters.append(self._letter(message, position, rejected.reason, str(rejected)))
                    continue
                cache.touched.clear()
                try:
                    changes = self.handle(event) or Changes()
                except Exception as exc:
                    log.warning("%s failed on %s:%s: %r", self.service, RETENTION, position, exc)
                    raise HandlerFailed(index, exc) from exc
                returned = {id(a) for a in changes.aggregates}
                for aggregate in changes.aggregates:
                    if changed.setdefault(aggregate.id, aggregate) is not aggregate:
                        raise Unbatchable(f"two objects for aggregate {aggregate.id}")
                    cache.aggregates[aggregate.id] = aggregate  # new ones too
                for aggregate_id, pending in cache.touched.items():
                    aggregate = cache.aggregates[aggregate_id]
                    if id(aggregate) not in returned and len(aggregate.pending_events) != pending:
                        raise Unbatchable(f"aggregate {aggregate_id} changed but not returned")
                decisions.extend(changes.decisions)
            tracking = Tracking(self.durable, todo[-1][1])
            self.app.commit(
                *changed.values(), decisions=decisions, letters=letters, tracking=tracking
            )
        return decisions

    def _apply_each(self, todo: Sequence[tuple[Msg, int]]) -> None:
        """Handle the messages one by one, each change committed on its own. Messages that
        change nothing are not committed one by one: the position is committed with the
        next change or at the end. Redone after a crash, they would again change nothing."""
        done = unsaved = todo[0][1] - 1
        for message, position in todo:
            if self.partition.owns(message.subject, RETENTION_TOKEN) and self._apply_one(
                message, position
            ):
                done = position
            unsaved = position
        if unsaved > done:
            self.app.commit(tracking=Tracking(self.durable, unsaved))

    def _letter(self, message: Msg, position: int, reason: str, detail: str) -> Outgoing:
        return dead_letter(
            self.service,
            reason,
            detail,
            message.data,
            message.headers,
            origin=f"{RETENTION}:{position}",
            subject=message.subject,
        )

    def _apply_one(self, message: Msg, position: int, failed: Exception | None = None) -> bool:
        """Handle one message; True when something (and so the position) was committed.
        `failed`: how its handling already failed once (in a batch), which counts as a try."""
        tracking = Tracking(self.durable, position)
        origin = f"{RETENTION}:{position}"
        try:
            event = parse_recorded(message.data)
        except Rejected as rejected:
            letter = self._letter(message, position, rejected.reason, str(rejected))
            self.app.commit(letters=[letter], tracking=tracking)
            return True
        error = failed
        for _ in range(self.max_tries - (failed is not None)):
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
        letter = self._letter(
            message, position, "handler_error", f"{type(error).__name__}: {error}"
        )
        self.app.commit(letters=[letter], tracking=tracking)
        return True


class HandlerFailed(Exception):
    """The handler failed on the batch's message at `index`."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


class Unbatchable(Exception):
    """A batch's messages cannot be handled together; they are handled one by one."""
