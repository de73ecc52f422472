"""eventsourcing's PostgreSQL process recorder, with the outbox table (laoke/recorders.py)
in its transaction, writing without psycopg's pipeline mode.

In pipeline mode psycopg (3.3.9) stops sending a query of more than about 10 MB half-way
and then waits for an answer forever, while the server waits for the rest of the query:
`_pipeline_communicate` ignores what `flush()` left unsent. One intake commit can be that
big: a batch of dead letters keeps each original message, up to 1 MiB. The same statements
in a plain transaction send any size. Chosen by `eventsourcing_env`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from laoke.publishing import Outgoing
from laoke.recorders import OUTBOX_TRACKING, OutboxRow, outgoing


class UnpipelinedProcessRecorder(PostgresProcessRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        table = Identifier(self.events_table_name.removesuffix("_events") + "_outbox")
        self.outbox = SQL("{schema}.{table}").format(
            schema=Identifier(self.datastore.schema), table=table
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {outbox} ("
                "position bigserial PRIMARY KEY, "
                "message_id uuid NOT NULL UNIQUE, "
                "subject text NOT NULL, "
                "body bytea NOT NULL, "
                "headers text NOT NULL)"
            ).format(outbox=self.outbox)
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)  # the tracking record
            self._insert_outbox(curs, kwargs.get("outbox", ()))
            if not stored_events:
                return None
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_outbox(self, curs: Cursor[DictRow], rows: Sequence[OutboxRow]) -> None:
        if not rows:
            return
        # positions in commit order, as eventsourcing keeps its notification ids: a relay
        # reading past a position never finds an earlier one committed after
        curs.execute(SQL("LOCK TABLE {outbox} IN EXCLUSIVE MODE").format(outbox=self.outbox))
        curs.executemany(
            SQL(
                "INSERT INTO {outbox} (message_id, subject, body, headers) VALUES (%s,%s,%s,%s)"
            ).format(outbox=self.outbox),
            [(row.message_id, *row.values()[1:]) for row in rows],
        )

    def _one(self, query: SQL, params: Sequence[Any]) -> list[DictRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query.format(outbox=self.outbox), params)
            return curs.fetchall()

    def select_outbox(self, after: int, limit: int) -> list[tuple[int, Outgoing]]:
        rows = self._one(
            SQL(
                "SELECT position, subject, body, headers FROM {outbox} "
                "WHERE position > %s ORDER BY position LIMIT %s"
            ),
            (after, limit),
        )
        return [(r["position"], outgoing(r["subject"], r["body"], r["headers"])) for r in rows]

    def in_outbox(self, message_id: UUID) -> bool:
        return bool(self._one(SQL("SELECT 1 FROM {outbox} WHERE message_id = %s"), (message_id,)))

    def stored_ids(self, aggregate_ids: Sequence[UUID]) -> set[UUID]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT DISTINCT originator_id FROM {schema}.{table} "
                    "WHERE originator_id = ANY(%s)"
                ).format(
                    schema=Identifier(self.datastore.schema),
                    table=Identifier(self.events_table_name),
                ),
                (list(aggregate_ids),),
            )
            return {row["originator_id"] for row in curs.fetchall()}

    def outbox_is_empty(self) -> bool:
        return not self._one(SQL("SELECT 1 FROM {outbox} LIMIT 1"), ())

    def mark_relayed(self, after: int, last: int) -> None:
        """As the SQLite recorder's (laoke/recorders.py), in one transaction."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(
                SQL(
                    "UPDATE {outbox} SET body = '', headers = '{{}}' "
                    "WHERE position > %s AND position <= %s"
                ).format(outbox=self.outbox),
                (after, last),
            )
            self._insert_tracking(curs, Tracking(OUTBOX_TRACKING, last))

    def adopt_outbox(self, rows: Sequence[OutboxRow], published: int) -> None:
        """As the SQLite recorder's (laoke/recorders.py), in one transaction."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_outbox(curs, rows)
            if published:
                curs.execute(
                    SQL("SELECT position FROM {outbox} ORDER BY position LIMIT 1 OFFSET %s").format(
                        outbox=self.outbox
                    ),
                    (published - 1,),
                )
                found = curs.fetchone()
                assert found is not None
                self._insert_tracking(curs, Tracking(OUTBOX_TRACKING, found["position"]))
