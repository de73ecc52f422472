"""eventsourcing applications on SQLite (default) or PostgreSQL, with tracking and an outbox.

Every service keeps its aggregates in one `ServiceApplication`. `commit()` writes, in one
transaction: the aggregates' new events, the decisions to publish (as outbox entries), and
the position of the RETENTION message that caused them (a tracking record). A redelivered
message is therefore either fully applied already or not at all.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlparse
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import ProcessRecorder, Tracking

from events import Event, retention_subject, to_json
from laoke.pgschema import schema_lock
from laoke.publishing import Outgoing
from laoke.settings import LaokeSettings


def eventsourcing_env(settings: LaokeSettings, name: str) -> dict[str, str]:
    """The eventsourcing library's environment for the application called `name`."""
    if settings.store == "postgres":
        dsn = urlparse(settings.postgres_dsn)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dsn.path.lstrip("/") or "laoke",
            "POSTGRES_HOST": dsn.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(dsn.port or 5432),
            "POSTGRES_USER": dsn.username or "laoke",
            "POSTGRES_PASSWORD": dsn.password or "",
            "PROCESS_RECORDER_TOPIC": "laoke.pgrecorder:UnpipelinedProcessRecorder",
            "CREATE_TABLE": "y",
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(settings.sqlite_path(name)),
        "SQLITE_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "y",
    }


class OutboxEntry(Aggregate):
    """A message waiting to be published (a decision on RETENTION, or a dead letter).
    Its id is the message's id, so the same decision can never be recorded twice."""

    @staticmethod
    def create_id(message_id: UUID) -> UUID:
        return message_id

    @event("Recorded")
    def __init__(
        self, message_id: UUID, subject: str, body: str, headers: dict[str, str] | None = None
    ) -> None:
        self.subject = subject
        self.body = body  # base64 when headers carry Laoke-Body-Encoding
        self.headers = headers or {}

    def outgoing(self) -> Outgoing:
        headers = dict(self.headers)
        body = (
            base64.b64decode(self.body)
            if headers.pop(BODY_ENCODING, None) == "base64"
            else self.body.encode()
        )
        headers.setdefault("Nats-Msg-Id", str(self.id))
        return Outgoing(self.subject, body, headers)


BODY_ENCODING = "Laoke-Body-Encoding"


OUTBOX_TOPIC = f"{OutboxEntry.__module__}:{OutboxEntry.__qualname__}.Recorded"


def outbox_entry(decision: Event) -> OutboxEntry:
    if decision.customer_id is None:
        raise ValueError(f"{decision.event_type} has no customer_id")
    subject = retention_subject(decision.dealership_id, decision.customer_id, decision.event_type)
    return OutboxEntry(
        message_id=decision.event_id, subject=subject, body=to_json(decision).decode()
    )


def letter_id(letter: Outgoing) -> UUID:
    return uuid5(NAMESPACE_URL, letter.headers["Nats-Msg-Id"])


def outbox_letter(letter: Outgoing) -> OutboxEntry:
    """A dead letter kept in the outbox, so it is published even after a crash."""
    headers = dict(letter.headers) | {BODY_ENCODING: "base64"}
    return OutboxEntry(
        message_id=letter_id(letter),
        subject=letter.subject,
        body=base64.b64encode(letter.body).decode(),
        headers=headers,
    )


class ServiceApplication(Application[UUID]):
    """An event-sourced application whose recorder also keeps tracking records."""

    def __init__(self, settings: LaokeSettings, name: str, extra_env: dict[str, str] | None = None):
        self.name = name
        self.lock = threading.RLock()  # one writer at a time: consumer and ticker share it
        self.observers: list[Callable[[list[Aggregate]], None]] = []
        env = eventsourcing_env(settings, name) | (extra_env or {})
        with schema_lock(settings):
            super().__init__(env=env)

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    @property
    def tracker(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    def commit(
        self,
        *aggregates: Aggregate | None,
        decisions: Sequence[Event] = (),
        letters: Sequence[Outgoing] = (),
        tracking: Tracking | None = None,
    ) -> None:
        """Save aggregates, decisions, dead letters and the tracking record in one transaction
        (the application's event store, `events.put`, with the tracking record: eventsourcing's
        own way for a process application; no aggregate cache to refresh here). Aggregates
        without new events are passed over; the observers see those saved."""
        saved = [a for a in aggregates if a is not None and a.pending_events]
        pending = [
            *saved,
            *(outbox_entry(d) for d in decisions),
            *(outbox_letter(letter) for letter in letters),
        ]
        events = [event for aggregate in pending for event in aggregate.collect_events()]
        if events or tracking is not None:
            self.events.put(events, tracking=tracking)
            for observe in self.observers:  # in-memory indexes, e.g. of deadlines
                observe(saved)

    def aggregates_with(self, topics: Sequence[str], page: int = 1000) -> Iterator[Aggregate]:
        """The aggregates that recorded an event of one of `topics` (first recorded
        first), as they are now, one at a time: how an in-memory index is rebuilt."""
        found: dict[UUID, None] = {}  # an insertion-ordered set
        start = 1
        while notifications := self.recorder.select_notifications(start, page, topics=topics):
            found.update((UUID(str(n.originator_id)), None) for n in notifications)
            start = notifications[-1].id + 1
        for aggregate_id in found:
            yield self.repository.get(aggregate_id)

    def tracked_position(self, consumer: str) -> int:
        return self.tracker.max_tracking_id(consumer) or 0

    def get_or_none(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
