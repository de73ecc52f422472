"""The store a bench run uses (`--store sqlite|postgres`), and its size on disk.

SQLite: each service's files under the rig's data dir (the default). PostgreSQL: a fresh
database `laoke_bench_<hex>` on the server at `LAOKE_POSTGRES_DSN`, created for the run and
dropped after it (as tests/conftest.py's `postgres_dsn` does), shared by every service and
by what the bench opens itself (the rebuild of (d)).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from laoke.settings import LaokeSettings

StoreKind = Literal["sqlite", "postgres"]
READ_STORE = "projections"  # the read store: projections' SQLite file or PostgreSQL schema


@dataclass(frozen=True)
class Store:
    kind: StoreKind
    data_dir: Path
    dsn: str | None = None  # the run's own database (postgres)

    def env(self) -> dict[str, str]:
        """What the services' processes are given to use this store."""
        if self.dsn is None:
            return {"LAOKE_STORE": "sqlite"}
        return {"LAOKE_STORE": "postgres", "LAOKE_POSTGRES_DSN": self.dsn}

    def settings(self, nats_url: str, **more: Any) -> LaokeSettings:
        """Settings for a store opened in the bench process itself, on the services' store
        (whatever LAOKE_STORE this process has)."""
        if self.dsn is not None:
            more["postgres_dsn"] = self.dsn
        return LaokeSettings(data_dir=self.data_dir, nats_url=nats_url, store=self.kind, **more)


@contextlib.contextmanager
def bench_store(kind: StoreKind, data_dir: Path) -> Iterator[Store]:
    """The store of one rig: SQLite files in `data_dir`, or a fresh PostgreSQL database,
    dropped at the end."""
    if kind == "sqlite":
        yield Store(kind, data_dir)
        return
    import psycopg

    admin_dsn = os.environ.get("LAOKE_POSTGRES_DSN")
    if not admin_dsn:
        raise SystemExit("--store postgres needs LAOKE_POSTGRES_DSN (docs/benchmarks.md)")
    name = f"laoke_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Store(kind, data_dir, urlparse(admin_dsn)._replace(path=f"/{name}").geturl())
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def owner(name: str, services: Sequence[str]) -> str:
    """The service a SQLite file's stem or a PostgreSQL table belongs to (a partition's
    `intake_p0` is intake's); anything else by its own name (e.g. deadletters)."""
    for service in services:
        if name == service or name.startswith(f"{service}_"):
            return service
    return name


def sizes(store: Store, services: Sequence[str]) -> dict[str, int]:
    """Bytes on disk per service's store (the read store is `projections`). SQLite: its
    files, -wal and -shm included. PostgreSQL: `pg_total_relation_size` (indexes and TOAST
    included) of its tables: eventsourcing's `<service>_*` tables in `public`, the
    `projections` and `deadletters` schemas; the database's catalogs are not counted."""
    found: dict[str, int] = {}
    if store.dsn is None:
        for path in store.data_dir.glob("*.sqlite3*"):
            key = owner(path.name.split(".sqlite3")[0], services)
            found[key] = found.get(key, 0) + path.stat().st_size
        return found
    import psycopg

    query = (
        "SELECT n.nspname, c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'm')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
    )
    with psycopg.connect(store.dsn) as conn:
        for schema, table, size in conn.execute(query).fetchall():
            key = owner(table, services) if schema == "public" else schema
            found[key] = found.get(key, 0) + int(size)
    return found


def database_bytes(store: Store) -> int | None:
    """`pg_database_size` of the run's database (catalogs and all), or None on SQLite."""
    if store.dsn is None:
        return None
    import psycopg

    with psycopg.connect(store.dsn) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else None
