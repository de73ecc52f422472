"""The read store: plain tables in SQLite (default) or PostgreSQL, behind one small module.

SQL here is portable: `?` placeholders (rewritten to `%s` for psycopg), TEXT for JSON and
for timestamps (UTC, fixed width, so text order is time order), `ON CONFLICT … DO UPDATE`
for upserts. Documents (`doc`) are JSON objects dumped with sorted keys, so a rebuilt
store is byte-for-byte comparable with a live one.

A `Tx` is one write transaction. It caches the rows it reads or writes (customers,
complaints, ...) and writes them back once at commit: a pulled batch of hundreds of
events about a few customers costs one upsert per touched row, not one per event.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from laoke.pgschema import schema_lock
from laoke.settings import LaokeSettings

Row = dict[str, Any]
SQLITE_FILE = "projections"
PREFETCH_CHUNK = 500  # keys per `IN (…)`: far below any driver's parameter limit
PG_SCHEMA = "projections"


@dataclass(frozen=True)
class DocTable:
    """A table of JSON documents with some columns lifted out for indexes and queries."""

    name: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]  # besides keys and `doc`

    @property
    def all_columns(self) -> tuple[str, ...]:
        return (*self.keys, *self.columns, "doc")


CUSTOMERS = DocTable(
    "customers", ("customer_id",), ("dealership_id", "merged_into", "advisor_id", "last_touch_at")
)
COMPLAINTS = DocTable(
    "complaints",
    ("dealership_id", "complaint_id"),
    (
        "customer_id",
        "category",
        "advisor_id",
        "department",
        "filed_at",
        "apologised_at",
        "resolved_at",
        "within_sla",
    ),
)
FOLLOWUPS = DocTable(
    "followups",
    ("dealership_id", "follow_up_id"),
    ("customer_id", "status", "due_at", "done_at", "reason", "advisor_id", "department"),
)
REFERRALS = DocTable(
    "referrals",
    ("dealership_id", "referral_id"),
    ("customer_id", "claimed_at", "verdict", "advisor_id"),
)
DOC_TABLES = {t.name: t for t in (CUSTOMERS, COMPLAINTS, FOLLOWUPS, REFERRALS)}

SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS positions (consumer TEXT PRIMARY KEY, seq BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS customers (customer_id TEXT PRIMARY KEY, dealership_id TEXT"
    " NOT NULL, merged_into TEXT, advisor_id TEXT, last_touch_at TEXT, doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS customers_merged ON customers (merged_into)",
    "CREATE TABLE IF NOT EXISTS identities (dealership_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " value TEXT NOT NULL, customer_id TEXT NOT NULL, PRIMARY KEY (dealership_id, kind, value))",
    "CREATE INDEX IF NOT EXISTS identities_value ON identities (kind, value)",
    "CREATE INDEX IF NOT EXISTS identities_customer ON identities (customer_id)",
    "CREATE TABLE IF NOT EXISTS timeline (seq BIGINT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " original_customer_id TEXT NOT NULL, dealership_id TEXT NOT NULL, event_id TEXT NOT NULL,"
    " event_type TEXT NOT NULL, occurred_at TEXT NOT NULL, source TEXT NOT NULL,"
    " touchpoint INTEGER NOT NULL, summary TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS timeline_customer ON timeline (customer_id, occurred_at, seq)",
    "CREATE TABLE IF NOT EXISTS complaints (dealership_id TEXT NOT NULL, complaint_id TEXT NOT"
    " NULL, customer_id TEXT NOT NULL, category TEXT, advisor_id TEXT, department TEXT,"
    " filed_at TEXT, apologised_at TEXT, resolved_at TEXT, within_sla INTEGER, doc TEXT NOT NULL,"
    " PRIMARY KEY (dealership_id, complaint_id))",
    "CREATE INDEX IF NOT EXISTS complaints_id ON complaints (complaint_id)",
    "CREATE INDEX IF NOT EXISTS complaints_filed ON complaints (dealership_id, filed_at)",
    "CREATE INDEX IF NOT EXISTS complaints_customer ON complaints (customer_id)",
    "CREATE TABLE IF NOT EXISTS followups (dealership_id TEXT NOT NULL, follow_up_id TEXT NOT"
    " NULL, customer_id TEXT NOT NULL, status TEXT NOT NULL, due_at TEXT, done_at TEXT,"
    " reason TEXT, advisor_id TEXT, department TEXT, doc TEXT NOT NULL,"
    " PRIMARY KEY (dealership_id, follow_up_id))",
    # The work list's order (due time, then id) straight from the index: no sort of the
    # follow-ups sharing a due time, only the page's rows read.
    "DROP INDEX IF EXISTS followups_work",
    "CREATE INDEX IF NOT EXISTS followups_worklist ON followups (dealership_id, status, due_at,"
    " follow_up_id)",
    "CREATE INDEX IF NOT EXISTS followups_customer ON followups (customer_id)",
    "CREATE INDEX IF NOT EXISTS followups_due ON followups (dealership_id, due_at, status,"
    " advisor_id, department)",
    # Follow-ups counted by due day (UTC) and group, kept by `Tx.flush`: a metrics period
    # sums whole days here and counts only its two partial edge days row by row.
    "CREATE TABLE IF NOT EXISTS followup_days (dealership_id TEXT NOT NULL, day TEXT NOT NULL,"
    " advisor_id TEXT NOT NULL, department TEXT NOT NULL, status TEXT NOT NULL, n BIGINT NOT"
    " NULL, PRIMARY KEY (dealership_id, day, advisor_id, department, status))",
    "CREATE TABLE IF NOT EXISTS referrals (dealership_id TEXT NOT NULL, referral_id TEXT NOT"
    " NULL, customer_id TEXT NOT NULL, claimed_at TEXT, verdict TEXT, advisor_id TEXT,"
    " doc TEXT NOT NULL, PRIMARY KEY (dealership_id, referral_id))",
    "CREATE INDEX IF NOT EXISTS referrals_id ON referrals (referral_id)",
    "CREATE INDEX IF NOT EXISTS referrals_claimed ON referrals (dealership_id, claimed_at)",
    "CREATE INDEX IF NOT EXISTS referrals_customer ON referrals (customer_id)",
    "CREATE TABLE IF NOT EXISTS surveys (event_id TEXT PRIMARY KEY, dealership_id TEXT NOT NULL,"
    " customer_id TEXT NOT NULL, survey_id TEXT NOT NULL, kind TEXT NOT NULL, score INTEGER NOT"
    " NULL, answered_at TEXT NOT NULL, advisor_id TEXT, department TEXT, rejected INTEGER NOT"
    " NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS surveys_period ON surveys (dealership_id, answered_at)",
    "CREATE INDEX IF NOT EXISTS surveys_customer ON surveys (customer_id)",
    "CREATE TABLE IF NOT EXISTS purchases (event_id TEXT PRIMARY KEY, dealership_id TEXT NOT"
    " NULL, customer_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, amount_cny REAL"
    " NOT NULL)",
    "CREATE INDEX IF NOT EXISTS purchases_customer ON purchases (customer_id, at)",
    "CREATE TABLE IF NOT EXISTS signals (event_id TEXT PRIMARY KEY, dealership_id TEXT NOT NULL,"
    " customer_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, advisor_id TEXT,"
    " department TEXT)",
    "CREATE INDEX IF NOT EXISTS signals_period ON signals (dealership_id, at)",
    "CREATE INDEX IF NOT EXISTS signals_customer ON signals (customer_id)",
    "CREATE TABLE IF NOT EXISTS refs (dealership_id TEXT NOT NULL, ref TEXT NOT NULL,"
    " advisor_id TEXT, department TEXT NOT NULL, PRIMARY KEY (dealership_id, ref))",
    "CREATE TABLE IF NOT EXISTS failures (seq BIGINT PRIMARY KEY, event_id TEXT, error TEXT NOT"
    " NULL)",
)
TABLES: tuple[str, ...] = (
    "positions",
    "customers",
    "identities",
    "timeline",
    "complaints",
    "followups",
    "followup_days",
    "referrals",
    "surveys",
    "purchases",
    "signals",
    "refs",
    "failures",
)


@functools.lru_cache(maxsize=4096)
def ts(value: datetime) -> str:
    """A timestamp as stored: UTC, fixed width, so comparing text compares times.

    (`isoformat` of the UTC time, cut before the offset: the same text as
    `strftime("%Y-%m-%dT%H:%M:%S.%fZ")` at half the cost; cached because one event's
    times are formatted several times while it is applied.)"""
    offset = value.utcoffset()
    if offset is None or offset:
        value = value.astimezone(UTC)
    return f"{value.isoformat(timespec='microseconds')[:26]}Z"


def parse_ts(value: str) -> datetime:
    """A stored timestamp back to an aware UTC datetime (`fromisoformat` reads the `Z`
    since Python 3.11, some fifty times faster than `strptime`)."""
    return datetime.fromisoformat(value)


FollowUpDay = tuple[str, str, str, str, str]  # dealership, day, advisor, department, status


def followup_day(row: Row) -> FollowUpDay | None:
    """The `followup_days` bucket a follow-up row counts in ('' for no advisor/department)."""
    if row["due_at"] is None:
        return None
    return (
        row["dealership_id"],
        row["due_at"][:10],
        row["advisor_id"] or "",
        row["department"] or "",
        row["status"],
    )


def dump_doc(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class Tx:
    """One write transaction with a write-back cache of document rows."""

    def __init__(self, store: ReadStore, cursor: Any) -> None:
        self.store = store
        self.cursor = cursor
        self._rows: dict[tuple[str, tuple[Any, ...]], Row | None] = {}
        self._dirty: dict[tuple[str, tuple[Any, ...]], Row] = {}
        self._deferred: dict[str, list[Sequence[Any]]] = {}
        self.memo: dict[Any, Any] = {}  # the handlers' own per-transaction caches
        self._days: dict[tuple[Any, ...], FollowUpDay | None] = {}  # as stored, by key

    # -- plain SQL -------------------------------------------------------------------------
    def defer(self, sql: str, params: Sequence[Any]) -> None:
        """An insert/upsert sent later with its kind in one `executemany` (before any other
        statement or query of this transaction, so reads still see it)."""
        self._deferred.setdefault(sql, []).append(params)

    def _send_deferred(self) -> None:
        if self._deferred:
            deferred, self._deferred = self._deferred, {}
            for sql, rows in deferred.items():
                self.cursor.executemany(self.store.sql(sql), rows)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._send_deferred()
        self.cursor.execute(self.store.sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._send_deferred()
        if rows:
            self.cursor.executemany(self.store.sql(sql), [tuple(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._send_deferred()
        self.cursor.execute(self.store.sql(sql), tuple(params))
        return list(self.cursor.fetchall())

    # -- documents ---------------------------------------------------------------------------
    def get(self, table: DocTable, *key: Any) -> Row | None:
        cache_key = (table.name, key)
        if cache_key in self._rows:
            return self._rows[cache_key]
        self.prefetch(table, [key])
        return self._rows[cache_key]

    def prefetch(self, table: DocTable, keys: Iterable[tuple[Any, ...]]) -> None:
        """Read the rows of `keys` not cached yet in a few `IN (…)` queries (absent rows
        are cached as None). Document tables are never deferred, so this does not send the
        deferred inserts: they stay batched until the transaction ends."""
        missing = [k for k in dict.fromkeys(keys) if (table.name, k) not in self._rows]
        if not missing:
            return
        *scope, last = table.keys
        by_scope: dict[tuple[Any, ...], list[Any]] = {}
        for key in missing:
            by_scope.setdefault(key[:-1], []).append(key[-1])
        cols = ", ".join(table.all_columns)
        width = len(table.keys)
        for prefix, values in by_scope.items():
            for start in range(0, len(values), PREFETCH_CHUNK):
                chunk = values[start : start + PREFETCH_CHUNK]
                where = "".join(f"{c} = ? AND " for c in scope)
                where += f"{last} IN ({', '.join('?' * len(chunk))})"
                self.cursor.execute(
                    self.store.sql(f"SELECT {cols} FROM {table.name} WHERE {where}"),
                    (*prefix, *chunk),
                )
                for found in self.cursor.fetchall():
                    row = dict(zip(table.all_columns, found, strict=True))
                    row["doc"] = json.loads(row["doc"])
                    self._rows[(table.name, tuple(found[:width]))] = row
                    if table is FOLLOWUPS:
                        self._days[tuple(found[:width])] = followup_day(row)
        for key in missing:
            self._rows.setdefault((table.name, key), None)

    def cached(self, table: DocTable) -> Iterator[Row]:
        """The rows of `table` this transaction holds (to keep them in step with raw SQL)."""
        for (name, _), row in self._rows.items():
            if name == table.name and row is not None:
                yield row

    def put(self, table: DocTable, row: Row) -> None:
        key = tuple(row[k] for k in table.keys)
        self._rows[(table.name, key)] = row
        self._dirty[(table.name, key)] = row

    def flush(self) -> None:
        """Write back the changed rows (also before raw SQL that touches those tables)."""
        self._send_deferred()
        by_table: dict[str, list[Row]] = {}
        for (name, _), row in self._dirty.items():
            by_table.setdefault(name, []).append(row)
        for name, rows in by_table.items():
            table = DOC_TABLES[name]
            cols = table.all_columns
            updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in table.keys)
            sql = (
                f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                f" ON CONFLICT ({', '.join(table.keys)}) DO UPDATE SET {updates}"
            )
            values = [[*(r.get(c) for c in cols[:-1]), dump_doc(r["doc"])] for r in rows]
            self.executemany(sql, values)
            if table is FOLLOWUPS:
                self._count_days(rows)
        self._dirty.clear()

    def _count_days(self, rows: list[Row]) -> None:
        """Move the written follow-ups between their `followup_days` buckets."""
        moves: dict[FollowUpDay, int] = {}
        for row in rows:
            key = (row["dealership_id"], row["follow_up_id"])
            before, after = self._days.get(key), followup_day(row)
            if before != after:
                if before is not None:
                    moves[before] = moves.get(before, 0) - 1
                if after is not None:
                    moves[after] = moves.get(after, 0) + 1
                self._days[key] = after
        moves = {bucket: n for bucket, n in moves.items() if n}
        self.executemany(
            "INSERT INTO followup_days (dealership_id, day, advisor_id, department, status, n)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dealership_id, day, advisor_id, department,"
            " status) DO UPDATE SET n = followup_days.n + excluded.n",
            [(*bucket, n) for bucket, n in moves.items()],
        )
        self.executemany(  # empty buckets go, so a rebuilt table equals a live one
            "DELETE FROM followup_days WHERE dealership_id = ? AND day = ? AND advisor_id = ?"
            " AND department = ? AND status = ? AND n = 0",
            [bucket for bucket, n in moves.items() if n < 0],
        )

    def forget(self) -> None:
        """Drop the cache (after raw SQL changed document tables)."""
        self.flush()
        self._rows.clear()
        self._days.clear()
        self.memo.clear()

    # -- positions ---------------------------------------------------------------------------
    def position(self, consumer: str) -> int:
        found = self.query("SELECT seq FROM positions WHERE consumer = ?", (consumer,))
        return int(found[0][0]) if found else 0

    def set_position(self, consumer: str, seq: int) -> None:
        self.execute(
            "INSERT INTO positions (consumer, seq) VALUES (?, ?)"
            " ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
            (consumer, seq),
        )


class ReadStore:
    """SQLite file `<data_dir>/projections.sqlite3` (WAL), or a PostgreSQL schema."""

    def __init__(
        self, settings: LaokeSettings, *, name: str = SQLITE_FILE, schema: str = PG_SCHEMA
    ) -> None:
        self.settings = settings
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
            for statement in SCHEMA:
                tx.execute(statement)
            backfill_followup_days(tx)

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
        row["doc"] = json.loads(row["doc"])
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

    def close(self) -> None:
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self.write_lock:
            if self.kind == "sqlite":
                self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()


def backfill_followup_days(tx: Tx) -> None:
    """Fill `followup_days` in a store written before it existed (it is never empty while
    any follow-up has a due time)."""
    if tx.query("SELECT 1 FROM followup_days LIMIT 1"):
        return
    tx.execute(
        "INSERT INTO followup_days (dealership_id, day, advisor_id, department, status, n)"
        " SELECT dealership_id, substr(due_at, 1, 10), COALESCE(advisor_id, ''),"
        " COALESCE(department, ''), status, COUNT(*) FROM followups WHERE due_at IS NOT NULL"
        " GROUP BY dealership_id, substr(due_at, 1, 10), COALESCE(advisor_id, ''),"
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
