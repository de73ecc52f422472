"""What the queries of every resource share: dealership filters, finding an id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.projections.store import ReadStore
from services.projections.tables import parse_ts


def parse_ts_or_none(value: str | None) -> datetime | None:
    return parse_ts(value) if value else None


def primary_phone(doc: dict[str, Any]) -> str | None:
    """A customer's primary phone: the first one known that is not flagged as wrong."""
    flagged = doc["flagged_phones"]
    return next((p for p in doc["phones"] if p not in flagged), None)


def among(dealerships: frozenset[str] | None) -> tuple[str, tuple[str, ...]]:
    """` AND dealership_id IN (…)` and its parameters: the rows of these dealerships only
    (None: of every one). Callers answer an empty set themselves (`IN ()` is not SQL)."""
    if dealerships is None:
        return "", ()
    names = tuple(sorted(dealerships))
    return f" AND dealership_id IN ({', '.join('?' * len(names))})", names


def find_by_id(
    store: ReadStore, table: str, column: str, ident: str, dealerships: frozenset[str] | None
) -> list[tuple[Any, ...]]:
    """The dealerships (among these; None: all) holding this id, one row each."""
    if dealerships is not None and not dealerships:
        return []
    where, params = among(dealerships)
    return store.query(
        f"SELECT dealership_id FROM {table} WHERE {column} = ?{where} ORDER BY dealership_id",
        (ident, *params),
    )
