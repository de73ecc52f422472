"""A write transaction on the read store, with a write-back cache of document rows.

A `Tx` caches the rows it reads or writes (customers, complaints, ...) and writes them back
once at commit: a pulled batch of hundreds of events about a few customers costs one upsert
per touched row, not one per event. Its SQL is portable: `?` placeholders (the store
rewrites them for psycopg), `ON CONFLICT … DO UPDATE` for upserts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from services.projections.classes import class_columns
from services.projections.docjson import dump_doc, load_doc
from services.projections.tables import (
    CUSTOMERS,
    DOC_TABLES,
    FOLLOWUP_TALLIES,
    FOLLOWUPS,
    DocTable,
    FollowUpTally,
    Row,
    followup_tally,
)

if TYPE_CHECKING:  # store.py opens transactions, so it imports this module
    from services.projections.store import ReadStore

PREFETCH_CHUNK = 500  # keys per `IN (…)`: far below any driver's parameter limit


class Tx:
    """One write transaction with a write-back cache of document rows."""

    def __init__(self, store: ReadStore, cursor: Any) -> None:
        self.store = store
        self.cursor = cursor
        self._rows: dict[tuple[str, tuple[Any, ...]], Row | None] = {}
        self._dirty: dict[tuple[str, tuple[Any, ...]], Row] = {}
        self._deferred: dict[str, list[Sequence[Any]]] = {}
        self.memo: dict[Any, Any] = {}  # the handlers' own per-transaction caches
        self._tallies: dict[tuple[Any, ...], FollowUpTally | None] = {}  # as stored, by key

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
                    row["doc"] = load_doc(row["doc"])
                    self._rows[(table.name, tuple(found[:width]))] = row
                    if table is FOLLOWUPS:
                        self._tallies[tuple(found[:width])] = followup_tally(row)
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
            if table.derive is not None:
                for row in rows:
                    table.derive(row)
            if table is CUSTOMERS:
                for row in rows:
                    row.update(class_columns(row["doc"], self.store.classes))
            values = [[*(r.get(c) for c in cols[:-1]), dump_doc(r["doc"])] for r in rows]
            self.executemany(sql, values)
            if table is FOLLOWUPS:
                self._count_tallies(rows)
        self._dirty.clear()

    def _count_tallies(self, rows: list[Row]) -> None:
        """Move the written follow-ups between their `followup_hours` and `followup_days`
        buckets."""
        moves: dict[FollowUpTally, int] = {}
        for row in rows:
            key = (row["dealership_id"], row["follow_up_id"])
            before, after = self._tallies.get(key), followup_tally(row)
            if before != after:
                if before is not None:
                    moves[before] = moves.get(before, 0) - 1
                if after is not None:
                    moves[after] = moves.get(after, 0) + 1
                self._tallies[key] = after
        for tally in FOLLOWUP_TALLIES:
            cut: dict[FollowUpTally, int] = {}
            for (dealership, hour, advisor, department, status), n in moves.items():
                bucket = (dealership, hour[: tally.width], advisor, department, status)
                cut[bucket] = cut.get(bucket, 0) + n
            self._move(tally.table, tally.column, {bucket: n for bucket, n in cut.items() if n})

    def _move(self, table: str, column: str, moves: dict[FollowUpTally, int]) -> None:
        self.executemany(
            f"INSERT INTO {table} (dealership_id, {column}, advisor_id, department, status, n)"
            f" VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dealership_id, {column}, advisor_id,"
            f" department, status) DO UPDATE SET n = {table}.n + excluded.n",
            [(*bucket, n) for bucket, n in moves.items()],
        )
        self.executemany(  # empty buckets go, so a rebuilt table equals a live one
            f"DELETE FROM {table} WHERE dealership_id = ? AND {column} = ? AND advisor_id = ?"
            " AND department = ? AND status = ? AND n = 0",
            [bucket for bucket, n in moves.items() if n < 0],
        )

    def forget(self) -> None:
        """Drop the cache (after raw SQL changed document tables)."""
        self.flush()
        self._rows.clear()
        self._tallies.clear()
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
