"""Keyset paging, shared by every list (docs/projections.md, "Lists and paging").

A list is read in one fixed order whose last column is the row's id, so the order is total.
A page is the first `limit` rows after a position; its `next_cursor` is the position of its
last row (the values of the order's columns), and the next page starts after it. Rows
inserted between two requests are therefore neither repeated nor skipped when they sort
after the cursor; those sorting before it are on the next walk from the top. The same walk,
chunk after chunk, streams a whole list (`chunks`, for CSV) in constant memory.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Key = tuple[str, ...]
Fetch = Callable[[Key | None, int], list[Any]]
"""Up to `n` rows after the position (from the top with None), in the list's order."""
KeyOf = Callable[[Any], Key]
"""A row's position: the values of the order's columns."""


def encode_cursor(*values: str) -> str:
    """The position after a row, opaque to callers (URL-safe base64 of a JSON array)."""
    raw = json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *checks: Callable[[str], object]) -> Key:
    """`encode_cursor`'s values back, one per check (each raises ValueError for a value its
    list never writes); ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("not a cursor this list gave") from exc
    if (
        not isinstance(values, list)
        or len(values) != len(checks)
        or not all(isinstance(v, str) and "\x00" not in v for v in values)
    ):  # (PostgreSQL refuses NUL in text)
        raise ValueError("not a cursor this list gave")
    for check, value in zip(checks, values, strict=True):
        check(value)
    return tuple(values)


def after(order: Sequence[str], position: Key | None) -> tuple[str, tuple[str, ...]]:
    """` AND (a, b) > (?, ?)` and its parameters: the rows after the position ("" for the
    top). A row-value comparison, so each page is one range of the list's index."""
    if position is None:
        return "", ()
    marks = ", ".join("?" * len(order))
    return f" AND ({', '.join(order)}) > ({marks})", position


def page(
    fetch: Fetch, key: KeyOf, position: Key | None, limit: int
) -> tuple[list[Any], str | None]:
    """One page and its `next_cursor` (None on the last page: one row more is asked for to
    tell)."""
    rows = fetch(position, limit + 1)
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(*key(rows[-1]))


def chunks(fetch: Fetch, key: KeyOf, position: Key | None, size: int) -> Iterator[list[Any]]:
    """Every row from the position to the end of the list, `size` at a time, each chunk
    read when the one before has been used (one query each: no cursor held open)."""
    while True:
        rows = fetch(position, size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        position = key(rows[-1])
