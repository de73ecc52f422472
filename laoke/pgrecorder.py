"""eventsourcing's PostgreSQL process recorder, writing without psycopg's pipeline mode.

In pipeline mode psycopg (3.3.9) stops sending a query of more than about 10 MB half-way
and then waits for an answer forever, while the server waits for the rest of the query:
`_pipeline_communicate` ignores what `flush()` left unsent. One intake commit can be that
big: a batch of dead letters keeps each original message, up to 1 MiB, base64-encoded.
The same statements in a plain transaction send any size. Chosen by `eventsourcing_env`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.utils import retry


class UnpipelinedProcessRecorder(PostgresProcessRecorder):
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)  # the tracking record
            if not stored_events:
                return None
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
