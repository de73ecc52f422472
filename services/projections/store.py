"""The read store: plain tables in SQLite (default) or PostgreSQL, behind one small module.

SQL is portable: `?` placeholders (rewritten to `%s` for psycopg), the types and formats of
tables.py, `ON CONFLICT … DO UPDATE` for upserts. `ReadStore` opens the connections (one
writer; a reader per thread), creates the schema and runs write transactions (`Tx`,
transaction.py); `swap_in` and `drop` serve a rebuild.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from laoke.pgschema import schema_lock
from laoke.settings import LaokeSettings
from services.projections.docjson import load_doc
from services.projections.migrations import earliest_first_seen, migrate, refresh_class_columns
from services.projections.settings import ClassThresholds, ProjectionSettings
from services.projections.tables import (
    FOLLOWUP_TALLIES,
    SCHEMA,
    TABLES,
    DocTable,
    Row,
    is_api_index,
)
from services.projections.transaction import Tx

SQLITE_FILE = "projections"
PG_SCHEMA = "projections"


class ReadStore:
    """SQLite file `<data_dir>/projections.sqlite3` (WAL), or a PostgreSQL schema."""

    def __init__(
        self,
        settings: LaokeSettings,
        *,
        name: str = SQLITE_FILE,
        schema: str = PG_SCHEMA,
        classes: ClassThresholds | None = None,
        api_indexes: bool = True,
    ) -> None:
        """`classes`: the class thresholds the customers' class columns are computed with
        (default: the environment's, as ProjectionSettings reads them). `api_indexes=False`
        (a rebuild's fresh store): the read API's indexes wait for `create_api_indexes`."""
        self.settings = settings
        self.api_indexes = api_indexes
        self.classes = classes or ProjectionSettings().classes
        self.kind = settings.store
        self.schema = schema
        self.path: Path | None = None
        self.write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[Any] = []
        self._readers_lock = threading.Lock()
        if self.kind == "sqlite":
            self.path = settings.sqlite_path(name)
        self._writer = self._connect(read_only=False)
        with schema_lock(settings), self.transaction() as tx:
            if self.kind == "postgres":
                tx.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            self.create_tables(tx)

    def create_tables(self, tx: Tx) -> None:
        """The read models' tables and indexes (an older store's brought up to them)."""
        migrate(tx)  # an older store's tables first: the schema's indexes may need it
        for statement in SCHEMA:
            if self.api_indexes or not is_api_index(statement):
                tx.execute(statement)
        backfill_followup_tallies(tx)
        earliest_first_seen(tx)  # before the classes: their tenure counts from it
        refresh_class_columns(tx, self.classes)

    def create_api_indexes(self) -> None:
        """The read API's indexes, in a store opened without them (a rebuild, once its rows
        are in); nothing to do in one that has them (a PostgreSQL rebuild keeps them up)."""
        if self.api_indexes:
            return
        with self.transaction() as tx:
            for statement in SCHEMA:
                if is_api_index(statement):
                    tx.execute(statement)
        self.api_indexes = True

    # -- connections -------------------------------------------------------------------------
    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.kind == "postgres" else text

    def _connect(self, read_only: bool) -> Any:
        if self.kind == "postgres":
            import psycopg  # only needed with store=postgres

            return psycopg.connect(
                self.settings.postgres_dsn,
                autocommit=True,
                options=f"-c search_path={self.schema}",
            )
        assert self.path is not None
        conn: sqlite3.Connection = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            conn.execute("PRAGMA query_only=ON")
        else:
            conn.execute("PRAGMA cache_size=-65536")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One write transaction; the document cache is written back before commit."""
        with self.write_lock:
            conn = self._writer
            if self.kind == "postgres":
                with conn.transaction(), conn.cursor() as cursor:
                    tx = Tx(self, cursor)
                    yield tx
                    tx.flush()
                return
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                tx = Tx(self, cursor)
                yield tx
                tx.flush()
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _reader(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(read_only=True)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read on this thread's own connection (WAL: readers never wait for the writer)."""
        conn = self._reader()
        cursor = conn.cursor()
        try:
            cursor.execute(self.sql(sql), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def doc(self, table: DocTable, *key: Any) -> Row | None:
        where = " AND ".join(f"{k} = ?" for k in table.keys)
        found = self.query(
            f"SELECT {', '.join(table.all_columns)} FROM {table.name} WHERE {where}", key
        )
        return self.row_of(table, found[0]) if found else None

    @staticmethod
    def row_of(table: DocTable, values: Sequence[Any]) -> Row:
        row = dict(zip(table.all_columns, values, strict=True))
        row["doc"] = load_doc(row["doc"])
        return row

    def position(self, consumer: str) -> int:
        found = self.query("SELECT seq FROM positions WHERE consumer = ?", (consumer,))
        return int(found[0][0]) if found else 0

    def dump(
        self, skip: Callable[[str], bool] = lambda _t: False
    ) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, sorted: for comparing a rebuilt store with a live one."""
        return {
            table: sorted(self.query(f"SELECT * FROM {table}"), key=repr)
            for table in TABLES
            if not skip(table)
        }

    def unsynced(self) -> None:
        """SQLite: commits no longer wait for the disk (fsync), until `close`, which
        checkpoints to disk. For a rebuild's fresh store: a crash means rebuilding again."""
        if self.kind == "sqlite":
            with self.write_lock:
                self._writer.execute("PRAGMA synchronous=OFF")

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self.write_lock:
            if self.kind == "sqlite":
                self._writer.execute("PRAGMA synchronous=NORMAL")  # the checkpoint syncs
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()


def backfill_followup_tallies(tx: Tx) -> None:
    """Fill a follow-up tally table in a store written before it existed (one is never
    empty while any follow-up has a due time)."""
    for tally in FOLLOWUP_TALLIES:
        table, column = tally.table, tally.column
        if tx.query(f"SELECT 1 FROM {table} LIMIT 1"):
            continue
        bucket = f"substr(due_at, 1, {tally.width})"
        tx.execute(
            f"INSERT INTO {table} (dealership_id, {column}, advisor_id, department, status, n)"
            f" SELECT dealership_id, {bucket}, COALESCE(advisor_id, ''),"
            " COALESCE(department, ''), status, COUNT(*) FROM followups WHERE due_at IS NOT"
            f" NULL GROUP BY dealership_id, {bucket}, COALESCE(advisor_id, ''),"
            " COALESCE(department, ''), status"
        )


def swap_in(settings: LaokeSettings, fresh: str, *, name: str = SQLITE_FILE) -> None:
    """Make the freshly built store (`fresh`: a file name or schema) the live one.

    Both stores must be closed (SQLite), or nobody must be writing (PostgreSQL: the schemas
    are renamed in one transaction).
    """
    if settings.store == "postgres":
        import psycopg

        with psycopg.connect(settings.postgres_dsn) as conn, conn.transaction():
            old = f"{PG_SCHEMA}_old"
            conn.execute(f"DROP SCHEMA IF EXISTS {old} CASCADE")
            conn.execute(f"ALTER SCHEMA {PG_SCHEMA} RENAME TO {old}")
            conn.execute(f"ALTER SCHEMA {fresh} RENAME TO {PG_SCHEMA}")
            conn.execute(f"DROP SCHEMA {old} CASCADE")
        return
    live = settings.sqlite_path(name)
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    os.replace(settings.sqlite_path(fresh), live)


def drop(settings: LaokeSettings, fresh: str) -> None:
    """Remove a half-built store left by an interrupted rebuild."""
    if settings.store == "postgres":
        import psycopg

        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")
        return
    path = settings.sqlite_path(fresh)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
