"""What laoke's services keep beside eventsourcing's tables, and the SQLite recorder that
writes it (the PostgreSQL one: laoke/pgrecorder.py).

The outbox is a table of plain rows beside the event store, written in the same
transaction as the aggregates' events and the tracking record.

A row is a message waiting to be published: a decision on RETENTION or a dead letter. Its
`message_id` is unique, so the same decision can never be recorded twice (the store refuses
it as a conflict, as it refuses an aggregate's event recorded twice). `position` orders the
rows in commit order; the relay publishes them in that order and tracks the last position
JetStream acknowledged. Rows cost a single insert each, where an aggregate per message
cost an event, its encoding and a notification. Once published, a row keeps only its
`message_id` (what `in_outbox` asks): its body and headers, personal data in the clear, are
emptied in the transaction that moves the relay's position (RETENTION holds them sealed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteProcessRecorder

from laoke.publishing import Outgoing

OUTBOX_TRACKING = "outbox"  # the relay's position in the outbox table
EMPTY_RELAYED = "UPDATE outbox SET body = X'', headers = '{}' WHERE position > ? AND position <= ?"


@dataclass(frozen=True)
class OutboxRow:
    message_id: UUID
    message: Outgoing  # its headers carry Nats-Msg-Id = message_id's str, or the letter's

    def values(self) -> tuple[str, str, bytes, str]:
        return (
            self.message_id.hex,
            self.message.subject,
            self.message.body,
            json.dumps(dict(self.message.headers)),
        )


def outgoing(subject: str, body: bytes, headers: str) -> Outgoing:
    return Outgoing(subject, bytes(body), json.loads(headers))


class Recorder(Protocol):
    """What the service application needs of its recorder beyond eventsourcing's: the
    outbox, and which aggregates the store holds (`UnitOfWork.prefetch`)."""

    def select_outbox(self, after: int, limit: int) -> list[tuple[int, Outgoing]]: ...

    def in_outbox(self, message_id: UUID) -> bool: ...

    def outbox_is_empty(self) -> bool: ...

    def stored_ids(self, aggregate_ids: Sequence[UUID]) -> set[UUID]: ...

    def adopt_outbox(self, rows: Sequence[OutboxRow], published: int) -> None: ...

    def mark_relayed(self, after: int, last: int) -> None: ...


class SQLiteRecorder(SQLiteProcessRecorder):
    """eventsourcing's SQLite process recorder, with the outbox table written in its
    transaction (`insert_events(..., outbox=rows)`)."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS outbox ("
            "position INTEGER PRIMARY KEY, "
            "message_id TEXT NOT NULL UNIQUE, "
            "subject TEXT NOT NULL, "
            "body BLOB NOT NULL, "
            "headers TEXT NOT NULL)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        rows: Sequence[OutboxRow] = kwargs.get("outbox", ())
        for row in rows:
            c.execute(
                "INSERT INTO outbox (message_id, subject, body, headers) VALUES (?,?,?,?)",
                row.values(),
            )
        return returning

    def select_outbox(self, after: int, limit: int) -> list[tuple[int, Outgoing]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT position, subject, body, headers FROM outbox "
                "WHERE position > ? ORDER BY position LIMIT ?",
                (after, limit),
            )
            return [(row[0], outgoing(row[1], row[2], row[3])) for row in c.fetchall()]

    def in_outbox(self, message_id: UUID) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT 1 FROM outbox WHERE message_id = ?", (message_id.hex,))
            return c.fetchone() is not None

    def stored_ids(self, aggregate_ids: Sequence[UUID]) -> set[UUID]:
        found: set[UUID] = set()
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(aggregate_ids), 500):  # SQLite's limit on parameters
                chunk = [i.hex for i in aggregate_ids[start : start + 500]]
                c.execute(
                    f"SELECT DISTINCT originator_id FROM {self.events_table_name} "
                    f"WHERE originator_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update(UUID(row[0]) for row in c.fetchall())
        return found

    def outbox_is_empty(self) -> bool:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT 1 FROM outbox LIMIT 1")
            return c.fetchone() is None

    def mark_relayed(self, after: int, last: int) -> None:
        """The rows after `after` up to `last` are published: empty them, and move the
        relay's position to `last`, in one transaction."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(EMPTY_RELAYED, (after, last))
            self._insert_tracking(c, Tracking(OUTBOX_TRACKING, last))

    def adopt_outbox(self, rows: Sequence[OutboxRow], published: int) -> None:
        """Take an older store's outbox entries (in their order) into the empty table, with
        the relay's position after the first `published` of them, in one transaction."""
        with self.datastore.transaction(commit=True) as c:
            self._insert_events(c, (), outbox=rows)
            if published:
                c.execute(
                    "SELECT position FROM outbox ORDER BY position LIMIT 1 OFFSET ?",
                    (published - 1,),
                )
                self._insert_tracking(c, Tracking(OUTBOX_TRACKING, c.fetchone()[0]))
