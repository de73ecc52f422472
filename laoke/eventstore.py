"""eventsourcing applications on SQLite (default) or PostgreSQL, with tracking and an outbox.

Every service keeps its aggregates in one `ServiceApplication`. `commit()` writes, in one
transaction: the aggregates' new events, the decisions to publish (as rows of the outbox
table, laoke/recorders.py), and the position of the RETENTION message that caused them
(a tracking record). A redelivered message is therefore either fully applied already or
not at all.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast
from urllib.parse import urlparse
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Notification, ProcessRecorder, Tracking

from events import Event, retention_subject, to_json
from laoke.pgschema import schema_lock
from laoke.publishing import Outgoing
from laoke.recorders import OUTBOX_TRACKING, OutboxRow, Recorder
from laoke.settings import LaokeSettings


def fold_events(aggregate: Any, events: Iterable[Any]) -> Any:
    """An aggregate from its events: eventsourcing's `project_aggregate` less its check of
    each event against a runtime-checkable Protocol, which cost a tenth of a deciding
    service's CPU (the events are the library's own, read from our store)."""
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


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
        "PROCESS_RECORDER_TOPIC": "laoke.recorders:SQLiteRecorder",
        "CREATE_TABLE": "y",
    }


class OutboxEntry(Aggregate):
    """How stores before the outbox table kept a message waiting to be published (one
    aggregate per message, its id the message's). Read only to take an older store's entries
    into the table (`ServiceApplication._adopt_older_outbox`)."""

    @event("Recorded")
    def __init__(
        self, message_id: UUID, subject: str, body: str, headers: dict[str, str] | None = None
    ) -> None:
        self.subject = subject
        self.body = body  # base64 when headers carry Laoke-Body-Encoding
        self.headers = headers or {}

    def row(self) -> OutboxRow:
        headers = dict(self.headers)
        body = (
            base64.b64decode(self.body)
            if headers.pop("Laoke-Body-Encoding", None) == "base64"
            else self.body.encode()
        )
        headers.setdefault("Nats-Msg-Id", str(self.id))
        return OutboxRow(self.id, Outgoing(self.subject, body, headers))


OLDER_OUTBOX_TOPIC = f"{OutboxEntry.__module__}:{OutboxEntry.__qualname__}.Recorded"
OLDER_RELAY = "outbox-relay"  # the older relay's position: a notification id


def _older_row(recorded: Any) -> OutboxRow:
    entry = recorded.mutate(None)
    assert isinstance(entry, OutboxEntry)
    return entry.row()


def outbox_row(decision: Event) -> OutboxRow:
    if decision.customer_id is None:
        raise ValueError(f"{decision.event_type} has no customer_id")
    subject = retention_subject(decision.dealership_id, decision.customer_id, decision.event_type)
    headers = {"Nats-Msg-Id": str(decision.event_id)}
    return OutboxRow(decision.event_id, Outgoing(subject, to_json(decision), headers))


def letter_id(letter: Outgoing) -> UUID:
    return uuid5(NAMESPACE_URL, letter.headers["Nats-Msg-Id"])


def letter_row(letter: Outgoing) -> OutboxRow:
    """A dead letter kept in the outbox, so it is published even after a crash."""
    return OutboxRow(letter_id(letter), letter)


class ServiceApplication(Application[UUID]):
    """An event-sourced application whose recorder also keeps tracking records."""

    def __init__(self, settings: LaokeSettings, name: str, extra_env: dict[str, str] | None = None):
        self.name = name
        self.lock = threading.RLock()  # one writer at a time: consumer and ticker share it
        self.observers: list[Callable[[list[Aggregate]], None]] = []
        env = eventsourcing_env(settings, name) | (extra_env or {})
        with schema_lock(settings):
            super().__init__(env=env)
            self._adopt_older_outbox()

    def construct_recorder(self) -> ProcessRecorder:
        return self.factory.process_recorder()

    @property
    def tracker(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    @property
    def _tables(self) -> Recorder:  # laoke's tables beside eventsourcing's
        return cast(Recorder, self.recorder)

    def outbox_after(self, position: int, limit: int) -> list[tuple[int, Outgoing]]:
        """The outbox's messages after `position` (0: from the first), with their positions."""
        return self._tables.select_outbox(position, limit)

    def mark_relayed(self, after: int, last: int) -> None:
        """The relay published the outbox's messages after `after` up to `last`."""
        self._tables.mark_relayed(after, last)

    def unrelayed(self) -> bool:
        """Whether the outbox holds a message the relay has not published yet."""
        return bool(self.outbox_after(self.tracked_position(OUTBOX_TRACKING), 1))

    def _adopt_older_outbox(self) -> None:
        """A store written before the outbox table keeps its waiting messages as aggregates:
        they move into the table once, in their order, with the relay's position (one
        transaction: a crash leaves the table empty, and the next start does it again)."""
        if not self._tables.outbox_is_empty():
            return
        older: list[Notification] = []
        start = 1
        while found := self.recorder.select_notifications(
            start, 10_000, topics=[OLDER_OUTBOX_TOPIC]
        ):
            older.extend(found)
            start = found[-1].id + 1
        if older:
            relayed = self.tracked_position(OLDER_RELAY)
            rows = [_older_row(self.mapper.to_domain_event(n)) for n in older]
            self._tables.adopt_outbox(rows, published=sum(n.id <= relayed for n in older))

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
        outbox = [*map(outbox_row, decisions), *map(letter_row, letters)]
        events = [event for aggregate in saved for event in aggregate.collect_events()]
        if events or outbox or tracking is not None:
            self.events.put(events, tracking=tracking, outbox=outbox)
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
            yield self.repository.get(aggregate_id, projector_func=fold_events)

    def tracked_position(self, consumer: str) -> int:
        return self.tracker.max_tracking_id(consumer) or 0

    def stored_ids(self, aggregate_ids: Sequence[UUID]) -> set[UUID]:
        """Those of `aggregate_ids` the store holds events of."""
        return self._tables.stored_ids(aggregate_ids)

    def in_outbox(self, message_id: UUID) -> bool:
        return self._tables.in_outbox(message_id)

    def get_or_none(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id, projector_func=fold_events)
        except AggregateNotFoundError:
            return None
