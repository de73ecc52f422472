"""How a deciding service handles RETENTION: in order, exactly once in effect.

The store's tracking records say what was handled; the runner (laoke/runner.py) hands over
runs of messages that continue from there. Each message is handled by a plain function
filling a unit of work (laoke/work.py); its changes, its decisions and the position are
committed in one transaction, then the message is acked. A message that keeps failing is
dead-lettered (through the outbox) after `max_tries`, so it neither blocks the consumer
nor vanishes. With tracing on, each message's handling is a span (laoke/tracing.py).

A service that names the event types it `handles` has the others passed over by their
subject's last token: not decoded, no keys loaded, no span. They stay part of the run, so
the position committed with it still moves past them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import Tracking
from nats.aio.msg import Msg
from opentelemetry.trace import Span

from events import Event, Rejected
from laoke import tracing
from laoke.dlq import dead_letter, subject_dealership
from laoke.durable import DurableConsumer, stream_sequence
from laoke.eventstore import ServiceApplication
from laoke.heap import gc_paused
from laoke.keyring import Keyring
from laoke.logs import EVENT
from laoke.metrics import DECISIONS
from laoke.partitions import RETENTION_TOKEN, WHOLE, Partition
from laoke.publishing import Outgoing
from laoke.runner import StreamConsumer
from laoke.sealing import load_for, read_recorded
from laoke.streams import RETENTION
from laoke.threads import in_thread
from laoke.work import AggregateCache, UnitOfWork

log = logging.getLogger(__name__)


# What a service does with one event: load through the unit of work, change, decide.
Handler = Callable[[UnitOfWork, Event], None]
# The aggregates a handler will load for an event: a run's are looked up together, so those
# the store has never recorded (a history import's new customers) cost no look-up each.
Loads = Callable[[Event], Iterable[UUID]]


@dataclass
class RetentionConsumer:
    """What a deciding service does with a run of RETENTION messages (laoke/runner.py)."""

    service: str
    app: ServiceApplication
    handle: Handler
    max_tries: int = 3
    on_committed: Callable[[], None] = lambda: None
    partition: Partition = WHOLE
    keyring: Keyring | None = None  # opens the events' sealed personal fields
    loads: Loads | None = None
    # Aggregates of earlier runs: a customer's next event need not replay their history
    # from the store. Exact, since one process alone writes this partition's store.
    cache: AggregateCache | None = None
    # The event types `handle` acts on (`events.type_names` of what it dispatches on); the
    # others it would ignore, so they are not even read. None: every type.
    handles: frozenset[str] | None = None

    @property
    def durable(self) -> str:
        return self.partition.durable(self.service)

    def position(self) -> int:
        return self.app.tracked_position(self.durable)

    def runner(self, batch_size: int = 1000) -> StreamConsumer:
        # Batches of up to 1,000 (a trickle still makes small ones: runner.py): a batch's
        # own costs (its commit, the position, the relay's turn) weigh on a service that
        # passes most messages over; 200 at a time made complaints a third dearer.
        # One ack a batch: the store's position, not the server's acks, says what was
        # handled (laoke/durable.py), and an ack a message cost both sides a publish each.
        durable = DurableConsumer(self.durable, ack_all=True)
        return StreamConsumer(self.service, durable, self.position, self.apply, batch_size)

    def _reads(self, subject: str) -> bool:
        """Whether the message on `subject` is handled: this partition's, of a handled type
        (`retention.<dealership>.<customer>.<EventType>`). Others only advance the position."""
        if not self.partition.owns(subject, RETENTION_TOKEN):
            return False
        return self.handles is None or subject.rpartition(".")[2] in self.handles

    async def apply(self, run: Sequence[Msg]) -> None:
        await load_for(self.keyring, (m for m in run if self._reads(m.subject)))
        await in_thread(self._apply, run)
        self.on_committed()

    def _apply(self, run: Sequence[Msg]) -> None:
        """Handle a run of messages in order, committed in one transaction with the position
        of its last message. Handlers see the changes of the messages before theirs through
        the one unit of work, as they would after a commit per message, so where a run
        begins and ends changes no decision.

        A handler that raises costs only its message: the messages before it are committed
        together, it is tried again on its own (its try in the run counts) and dead-lettered
        after `max_tries`, and the rest go on together. A run whose commit fails is redone
        message by message."""
        with self.app.lock, gc_paused():  # as intake and projections: a big heap (the cache)
            done = self.app.tracked_position(self.durable)
            fresh = [(m, p) for m in run if (p := stream_sequence(m)) > done]
            while fresh:
                failed = self._apply_together(fresh)
                if failed is None:
                    return
                index, error = failed
                if index == len(fresh):  # the commit failed
                    self._apply_each(fresh)
                    return
                if index and self._apply_together(fresh[:index]) is not None:
                    self._apply_each(fresh[:index])
                message, position = fresh[index]
                if not self._apply_one(message, position, self.max_tries - 1, error):
                    self.app.commit(tracking=Tracking(self.durable, position))  # changed nothing
                fresh = fresh[index + 1 :]

    def _apply_together(self, run: Sequence[tuple[Msg, int]]) -> tuple[int, Exception] | None:
        """Handle the run in one unit of work and commit it. When that failed (nothing is
        committed): the index of the message whose handler raised (the run's length when
        the commit failed) and the error."""
        work = UnitOfWork(self.app, self.cache)
        read: list[tuple[int, str, Event]] = []
        for index, (message, position) in enumerate(run):
            if not self._reads(message.subject):
                continue
            origin = f"{RETENTION}:{position}"
            try:
                read.append((index, origin, read_recorded(message.data, self.keyring)))
            except Rejected as rejected:
                work.dead_letter(self._letter(message, origin, rejected.reason, str(rejected)))
        if self.loads is not None:
            loads = self.loads
            work.prefetch(aggregate_id for _, _, event in read for aggregate_id in loads(event))
        for index, origin, event in read:
            first = len(work.decisions)
            with self._span(event, origin) as span:
                try:
                    self.handle(work, event)
                except Exception as exc:
                    log.warning("%s failed on %s: %r", self.service, origin, exc)
                    work.forget()  # the cache holds the run's changes, never committed
                    return index, exc
                tracing.decided(span, work.decisions[first:])
        try:
            work.commit(Tracking(self.durable, run[-1][1]))
        except Exception as exc:
            log.info("%s: a run's commit failed (%r); redone message by message", self.service, exc)
            return len(run), exc
        for decision in work.decisions:
            DECISIONS.labels(self.service, decision.event_type).inc()
        return None

    def _span(self, event: Event, origin: str) -> AbstractContextManager[Span | None]:
        """The log context and tracing span of handling `event`."""
        correlation = str(event.correlation_id) if event.correlation_id else None
        EVENT.set((str(event.event_id), correlation))
        log.debug("%s: %s at %s", self.service, event.event_type, origin)
        return tracing.handling(self.service, event, origin)

    def _apply_each(self, run: Sequence[tuple[Msg, int]]) -> None:
        """Handle the run message by message. Messages that change nothing (most, for any
        one service) are not committed one by one: the position is committed with the next
        change or at the end of the run. Redone after a crash, they would again change
        nothing."""
        done = unsaved = self.app.tracked_position(self.durable)
        for message, position in run:
            if self._reads(message.subject) and self._apply_one(message, position):
                done = position
            unsaved = position
        if unsaved > done:
            self.app.commit(tracking=Tracking(self.durable, unsaved))

    def _apply_one(
        self, message: Msg, position: int, tries: int | None = None, error: Exception | None = None
    ) -> bool:
        """Handle one message (`tries` times at most, `error` the last try's when tried
        before); True when something (and so the position) was committed."""
        tracking = Tracking(self.durable, position)
        origin = f"{RETENTION}:{position}"
        try:
            event = read_recorded(message.data, self.keyring)
        except Rejected as rejected:
            return self._dead_letter(message, tracking, rejected.reason, str(rejected))
        with self._span(event, origin) as span:
            return self._handle(message, event, tracking, span, tries, error)

    def _handle(
        self,
        message: Msg,
        event: Event,
        tracking: Tracking,
        span: Span | None,
        tries: int | None,
        error: Exception | None,
    ) -> bool:
        origin = f"{RETENTION}:{tracking.notification_id}"
        for _ in range(self.max_tries if tries is None else tries):
            work = UnitOfWork(self.app, self.cache)  # a fresh one each try
            try:
                self.handle(work, event)
                if not work.changed():
                    return False
                work.commit(tracking)
            except Exception as exc:  # a poison message: retry, then dead-letter it
                work.forget()  # nothing of a failed try stays
                error = exc
                log.warning("%s failed on %s: %r", self.service, origin, exc)
                continue
            for decision in work.decisions:
                DECISIONS.labels(self.service, decision.event_type).inc()
            tracing.decided(span, work.decisions)
            return True
        reason, detail = "handler_error", f"{type(error).__name__}: {error}"
        tracing.failed(span, reason, detail)
        return self._dead_letter(message, tracking, reason, detail)

    def _dead_letter(self, message: Msg, tracking: Tracking, reason: str, error: str) -> bool:
        """Commit the message's dead letter (through the outbox) with its position."""
        origin = f"{RETENTION}:{tracking.notification_id}"
        work = UnitOfWork(self.app)
        work.dead_letter(self._letter(message, origin, reason, error))
        work.commit(tracking)
        return True

    def _letter(self, message: Msg, origin: str, reason: str, error: str) -> Outgoing:
        return dead_letter(
            self.service,
            reason,
            error,
            message.data,
            message.headers,
            origin=origin,
            subject=message.subject,
            dealership=subject_dealership(message.subject, RETENTION_TOKEN),
        )
