"""Creating tables on a PostgreSQL database that several processes share."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator

from laoke.settings import LaokeSettings


@contextlib.contextmanager
def schema_lock(settings: LaokeSettings) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock while creating tables: processes starting together on
    one database would otherwise race on `CREATE OR REPLACE FUNCTION` (eventsourcing's
    insert function) and on `CREATE TABLE IF NOT EXISTS`, and one fails with a unique
    violation. Nothing to do on SQLite, whose files are per service."""
    if settings.store != "postgres":
        yield
        return
    import psycopg

    key = zlib.crc32(b"laoke schema")
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
