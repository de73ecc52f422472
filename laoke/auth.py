"""API keys: who may read or write which dealership's data through the HTTP API.

A key is `lk_<id>_<secret>`; only its SHA-256 is stored (a key is 32 random bytes, so a
plain hash is as good as a slow one and lets us look a key up by it). A key is scoped to one
or more dealerships with read and/or write rights, or is an ops key (audit across every
dealership). The `privacy` scope adds, on the key's dealerships, what only a data-protection
officer needs: the full export of a person's data (docs/privacy.md). Keys live in
`<data_dir>/keys.sqlite3`, or in the table `laoke_api_keys` of the PostgreSQL database when
`LAOKE_STORE=postgres`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from laoke.pgschema import schema_lock
from laoke.settings import LaokeSettings

PREFIX = "lk_"
TABLE = "laoke_api_keys"


@dataclass(frozen=True)
class ApiKey:
    id: str
    dealerships: tuple[str, ...]
    read: bool
    write: bool
    ops: bool
    privacy: bool = False
    label: str = ""
    created_at: str = ""
    revoked_at: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dealerships": list(self.dealerships),
            "read": self.read,
            "write": self.write,
            "ops": self.ops,
            "privacy": self.privacy,
            "label": self.label,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True)
class Access:
    """What the caller of one request may do. `key` None = auth is off: everything."""

    key: ApiKey | None

    @property
    def ops(self) -> bool:
        return self.key is None or self.key.ops

    @property
    def readable(self) -> frozenset[str] | None:
        """The dealerships this caller may read; None = all of them."""
        if self.key is None:
            return None
        return frozenset(self.key.dealerships if self.key.read else ())

    @property
    def writable(self) -> frozenset[str] | None:
        """The dealerships this caller may write for; None = all of them."""
        if self.key is None:
            return None
        return frozenset(self.key.dealerships if self.key.write else ())

    @property
    def own_dealership(self) -> str | None:
        """The one dealership this caller reads, when it reads exactly one."""
        readable = self.readable
        return next(iter(readable)) if readable is not None and len(readable) == 1 else None

    def can_read(self, dealership_id: str) -> bool:
        readable = self.readable
        return readable is None or dealership_id in readable

    def can_write(self, dealership_id: str) -> bool:
        writable = self.writable
        return writable is None or dealership_id in writable

    @property
    def exportable(self) -> frozenset[str] | None:
        """The dealerships whose customers' full export (PIPL access request) this caller
        may read: a privacy key's own; None = all of them."""
        if self.key is None:
            return None
        return frozenset(self.key.dealerships if self.key.privacy else ())

    def can_audit(self, dealership_id: str | None) -> bool:
        """Ops keys read the audit of every dealership (and across all of them)."""
        if self.ops:
            return True
        return dealership_id is not None and self.can_read(dealership_id)


OPEN = Access(None)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> tuple[str, str]:
    key_id = secrets.token_hex(6)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


class KeyStore:
    """Create, list, revoke and check API keys."""

    def __init__(self, settings: LaokeSettings) -> None:
        self.settings = settings
        self.postgres = settings.store == "postgres"
        self._ensure_table()

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.settings.postgres_dsn) as pg, pg.transaction():
                yield pg
        else:
            lite = sqlite3.connect(self.settings.sqlite_path("keys"), timeout=10)
            try:
                with lite:
                    yield lite
            finally:
                lite.close()

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.postgres else text

    def _execute(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connect() as conn:
            cursor = conn.execute(self._sql(text), tuple(params))
            rows = cursor.fetchall() if cursor.description else []
            return [tuple(r) for r in rows]

    def _ensure_table(self) -> None:
        with schema_lock(self.settings):
            self._execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} ("
                " id TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL UNIQUE,"
                " dealerships TEXT NOT NULL, can_read INTEGER NOT NULL, can_write INTEGER NOT NULL,"
                " ops INTEGER NOT NULL, label TEXT NOT NULL, created_at TEXT NOT NULL,"
                " revoked_at TEXT, privacy INTEGER NOT NULL DEFAULT 0)"
            )
            with self._connect() as conn:  # a table of an older version lacks the scope
                columns = {c[0] for c in conn.execute(f"SELECT * FROM {TABLE} LIMIT 0").description}
                if "privacy" not in columns:
                    conn.execute(
                        f"ALTER TABLE {TABLE} ADD COLUMN privacy INTEGER NOT NULL DEFAULT 0"
                    )

    def create(
        self,
        dealerships: Sequence[str] = (),
        *,
        read: bool = True,
        write: bool = False,
        ops: bool = False,
        privacy: bool = False,
        label: str = "",
    ) -> tuple[ApiKey, str]:
        """A new key; returns it and its secret, which is shown once and never stored."""
        if not dealerships and not ops:
            raise ValueError("a key needs at least one dealership, or ops")
        if privacy and not dealerships:
            raise ValueError("the privacy scope is for the key's dealerships: name at least one")
        key_id, secret = new_secret()
        key = ApiKey(
            id=key_id,
            dealerships=tuple(dict.fromkeys(dealerships)),
            read=read,
            write=write,
            ops=ops,
            privacy=privacy,
            label=label,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._execute(
            f"INSERT INTO {TABLE} (id, secret_sha256, dealerships, can_read, can_write, ops,"
            " privacy, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.id,
                hash_secret(secret),
                json.dumps(list(key.dealerships)),
                int(read),
                int(write),
                int(ops),
                int(privacy),
                label,
                key.created_at,
            ),
        )
        return key, secret

    _COLUMNS = "id, dealerships, can_read, can_write, ops, privacy, label, created_at, revoked_at"

    @staticmethod
    def _key(row: tuple[Any, ...]) -> ApiKey:
        key_id, dealerships, read, write, ops, privacy, label, created_at, revoked_at = row
        return ApiKey(
            id=key_id,
            dealerships=tuple(json.loads(dealerships)),
            read=bool(read),
            write=bool(write),
            ops=bool(ops),
            privacy=bool(privacy),
            label=label,
            created_at=created_at,
            revoked_at=revoked_at,
        )

    def list(self) -> list[ApiKey]:
        rows = self._execute(f"SELECT {self._COLUMNS} FROM {TABLE} ORDER BY created_at, id")
        return [self._key(r) for r in rows]

    def revoke(self, key_id: str) -> bool:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as conn:
            cursor = conn.execute(
                self._sql(f"UPDATE {TABLE} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
                (now, key_id),
            )
            return bool(cursor.rowcount)

    def authenticate(self, secret: str) -> ApiKey | None:
        """The live key with this secret, or None."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        rows = self._execute(
            f"SELECT {self._COLUMNS} FROM {TABLE} WHERE secret_sha256 = ? AND revoked_at IS NULL",
            (hash_secret(secret),),
        )
        return self._key(rows[0]) if rows else None
