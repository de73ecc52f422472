"""Applying pulled batches of RETENTION messages to the read store, exactly once in effect.

A whole batch is applied in ONE transaction together with the consumer's position, so a
redelivered message (sequence <= position) changes nothing. A message that cannot be
parsed, or whose projection raises, is recorded in `failures` (and returned, for the
dead-letter stream) without blocking the rest; store errors (locked, connection lost)
propagate so the batch is not acked and comes back.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from events import Event, Rejected
from laoke import tracing
from laoke.heap import gc_paused
from laoke.keyring import Keyring
from laoke.sealing import read_recorded
from laoke.streams import RETENTION
from services.projections.projector import apply, prefetch
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore
from services.projections.transaction import Tx

log = logging.getLogger(__name__)
CONSUMER = "projections"
# Messages read and prefetched at a time: a batch larger than this (a rebuild's) is
# applied chunk after chunk in its one transaction, with only a chunk's events in memory.
CHUNK = 2000

TRANSIENT: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)
try:  # PostgreSQL's connection troubles are transient too
    import psycopg

    TRANSIENT += (psycopg.OperationalError,)
except ImportError:  # pragma: no cover
    pass


@dataclass(frozen=True)
class Message:
    seq: int
    data: bytes
    subject: str = ""


@dataclass(frozen=True)
class Failure:
    message: Message
    reason: str
    error: str


class Projections:
    def __init__(
        self,
        store: ReadStore,
        settings: ProjectionSettings,
        consumer: str = CONSUMER,
        keyring: Keyring | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.consumer = consumer
        self.keyring = keyring  # its keys loaded for each batch before it is applied

    def apply_batch(self, messages: Sequence[Message], through: int = 0) -> list[Failure]:
        """Apply what is new in `messages` (in stream order); returns the failures.
        `through`: the position reached, when the batch read held other partitions'
        messages after the last of these (laoke/partitions.py)."""
        if not messages and not through:
            return []
        with gc_paused():
            return self._apply_batch(messages, through)

    def _apply_batch(self, messages: Sequence[Message], through: int) -> list[Failure]:
        failures: list[Failure] = []
        started = time.time_ns()
        traced = tracing.enabled()  # else nothing is collected for it
        applied: list[tuple[Event, str]] = []
        try:
            with self.store.transaction() as tx:
                position = tx.position(self.consumer)
                fresh: list[Message] = []
                for message in messages:
                    if message.seq > (fresh[-1].seq if fresh else position):
                        fresh.append(message)  # the rest are redeliveries: applied before
                for start in range(0, len(fresh), CHUNK):  # a chunk's events in memory
                    chunk = fresh[start : start + CHUNK]
                    read = [self._read(tx, message) for message in chunk]
                    prefetch(tx, [event for event in read if not isinstance(event, Failure)])
                    for message, event in zip(chunk, read, strict=True):
                        if isinstance(event, Failure):
                            failures.append(event)
                        else:
                            apply(tx, event, message.seq, self.settings)
                            if traced:
                                applied.append((event, f"{RETENTION}:{message.seq}"))
                reached = max(fresh[-1].seq if fresh else 0, through)
                if reached > position:
                    tx.set_position(self.consumer, reached)
            tracing.handled_batch(CONSUMER, applied, started)
            return failures
        except TRANSIENT:
            raise
        except Exception:
            log.warning("projections: batch failed, applying one by one", exc_info=True)
        failures = self._one_by_one(messages)
        with self.store.transaction() as tx:
            if through > tx.position(self.consumer):
                tx.set_position(self.consumer, through)
        return failures

    def _one_by_one(self, messages: Sequence[Message]) -> list[Failure]:
        failures: list[Failure] = []
        for message in messages:
            try:
                with self.store.transaction() as tx:
                    if message.seq <= tx.position(self.consumer):
                        continue
                    failure = self._one(tx, message, isolate=True)
                    tx.set_position(self.consumer, message.seq)
            except TRANSIENT:
                raise
            except Exception as exc:
                failure = Failure(message, "handler_error", f"{type(exc).__name__}: {exc}")
                with self.store.transaction() as tx:
                    if message.seq <= tx.position(self.consumer):
                        continue
                    self._record_failure(tx, failure, None)
                    tx.set_position(self.consumer, message.seq)
            if failure is not None:
                failures.append(failure)
        return failures

    def _one(self, tx: Tx, message: Message, *, isolate: bool) -> Failure | None:
        event = self._read(tx, message)
        if isinstance(event, Failure):
            return event
        apply(tx, event, message.seq, self.settings)
        return None

    def _read(self, tx: Tx, message: Message) -> Event | Failure:
        try:
            return read_recorded(message.data, self.keyring)
        except Rejected as rejected:
            failure = Failure(message, rejected.reason, str(rejected))
            self._record_failure(tx, failure, None)
            return failure

    @staticmethod
    def _record_failure(tx: Tx, failure: Failure, event_id: str | None) -> None:
        log.warning("projections: %s at %s: %s", failure.reason, failure.message.seq, failure.error)
        tx.execute(
            "INSERT INTO failures (seq, event_id, error) VALUES (?, ?, ?)"
            " ON CONFLICT (seq) DO NOTHING",
            (failure.message.seq, event_id, f"{failure.reason}: {failure.error}"[:2000]),
        )
