"""Reading the dead-letter tables: a page of letters, newest first, and one letter.

A page is one query on an index in (time, sequence) order, cut by keyset as every list is
(queries/paging.py), newest first: the cursor is the last letter's (time, sequence) and the
next page starts below it, so letters refused meanwhile (at the top) neither repeat nor skip
anything. Letters older than RETENTION_DLQ keeps them are not answered.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.projections.deadletters.models import DeadLetterPublic, RedrivePublic
from services.projections.deadletters.store import MAX_AGE, DeadLetterStore, body_of
from services.projections.queries import paging
from services.projections.tables import parse_ts, ts

COLUMNS = (
    "seq",
    "dealership_id",
    "at",
    "service",
    "reason",
    "error",
    "origin",
    "subject",
    "event_id",
    "event_type",
    "body",
    "headers",
    "attempt",
    "redrive_of",
)


@dataclass(frozen=True)
class LetterQuery:
    """Which letters, from where. `dealership_id` None = every dealership's (ops' CLI)."""

    now: datetime
    limit: int
    dealership_id: str | None = None
    service: str | None = "intake"
    reason: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    before: paging.Key | None = None  # the cursor: (at as stored, seq)
    unredriven: bool = False  # only letters never re-driven

    def where(self) -> tuple[list[str], list[Any]]:
        start = max(self.start, self.now - MAX_AGE) if self.start else self.now - MAX_AGE
        where = ["at >= ?"]
        params: list[Any] = [ts(start)]
        for column, value in (
            ("dealership_id", self.dealership_id),
            ("service", self.service),
            ("reason", self.reason),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if self.end is not None:
            where.append("at < ?")
            params.append(ts(self.end))
        if self.unredriven:
            where.append("NOT EXISTS (SELECT 1 FROM redrives r WHERE r.letter_seq = d.seq)")
        return where, params


def _seq(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise ValueError("not a cursor this list gave")
    return int(value)


CURSOR_CHECKS = (parse_ts, _seq)  # queries/paging.py: the cursor is (at as stored, seq)


def _rows(
    store: DeadLetterStore, query: LetterQuery, position: paging.Key | None, n: int
) -> list[tuple[Any, ...]]:
    """Up to `n` letters below the position, newest first (index `dead_letters_list`, or
    `dead_letters_reason` for one reason)."""
    where, params = query.where()
    if position is not None:  # newest first: the rows *below* the cursor
        where.append("(at, seq) < (?, ?)")
        params += [position[0], int(position[1])]
    return store.query(
        f"SELECT {', '.join(COLUMNS)} FROM dead_letters d WHERE {' AND '.join(where)}"
        " ORDER BY at DESC, seq DESC LIMIT ?",
        (*params, n),
    )


def _key(row: tuple[Any, ...]) -> paging.Key:
    return str(row[2]), str(row[0])


def letter_page(
    store: DeadLetterStore, query: LetterQuery
) -> tuple[list[DeadLetterPublic], str | None]:
    """A page of letters, newest first, and the cursor of the next page (None: the last)."""

    def fetch(position: paging.Key | None, n: int) -> list[tuple[Any, ...]]:
        return _rows(store, query, position, n)

    rows, next_cursor = paging.page(fetch, _key, query.before, query.limit)
    return _letters(store, rows), next_cursor


def letter_chunks(
    store: DeadLetterStore, query: LetterQuery, size: int
) -> Iterator[list[DeadLetterPublic]]:
    """Every letter of the list from the query's cursor on, `size` at a time (CSV, and
    the letters `laoke dlq redrive` selects)."""

    def fetch(position: paging.Key | None, n: int) -> list[tuple[Any, ...]]:
        return _rows(store, query, position, n)

    for rows in paging.chunks(fetch, _key, query.before, size):
        yield _letters(store, rows)


def letter(
    store: DeadLetterStore, seq: int, dealerships: frozenset[str] | None, service: str | None
) -> DeadLetterPublic | None:
    """One letter, if it is one of these dealerships' (None: any) and this service's."""
    if dealerships is not None and not dealerships:
        return None
    where = ["seq = ?"]
    params: list[Any] = [seq]
    if dealerships is not None:
        names = sorted(dealerships)
        where.append(f"dealership_id IN ({', '.join('?' * len(names))})")
        params += names
    if service is not None:
        where.append("service = ?")
        params.append(service)
    rows = store.query(
        f"SELECT {', '.join(COLUMNS)} FROM dead_letters WHERE {' AND '.join(where)}", params
    )
    found = _letters(store, rows)
    return found[0] if found else None


def _letters(store: DeadLetterStore, rows: Sequence[tuple[Any, ...]]) -> list[DeadLetterPublic]:
    redrives = _redrives(store, [int(row[0]) for row in rows])
    return [_letter(dict(zip(COLUMNS, row, strict=True)), redrives) for row in rows]


def _letter(row: dict[str, Any], redrives: dict[int, list[RedrivePublic]]) -> DeadLetterPublic:
    data = body_of(row["body"])
    try:
        text: str | None = data.decode()
    except UnicodeDecodeError:
        text = None
    return DeadLetterPublic(
        seq=row["seq"],
        dealership_id=row["dealership_id"],
        at=parse_ts(row["at"]),
        service=row["service"],
        reason=row["reason"],
        error=row["error"],
        via="http" if row["origin"].startswith("http:") else "nats",
        subject=row["subject"],
        origin=row["origin"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        body=text,
        body_base64=None if text is not None else base64.b64encode(data).decode(),
        headers={str(k): str(v) for k, v in json.loads(row["headers"]).items()},
        attempt=row["attempt"],
        redrive_of=row["redrive_of"],
        redrives=redrives.get(int(row["seq"]), []),
    )


def _redrives(store: DeadLetterStore, seqs: list[int]) -> dict[int, list[RedrivePublic]]:
    """Each letter's re-drives, with the letter each became when refused again."""
    found: dict[int, list[RedrivePublic]] = {}
    if not seqs:
        return found
    rows = store.query(
        "SELECT r.letter_seq, r.at, r.redriven_by, r.attempt, r.body, r.sha256, r.event_id,"
        " r.redriven_as, f.seq FROM redrives r LEFT JOIN dead_letters f ON f.origin ="
        " r.redriven_as AND f.service = 'intake'"
        f" WHERE r.letter_seq IN ({', '.join('?' * len(seqs))}) ORDER BY r.seq",
        seqs,
    )
    for letter_seq, at, by, attempt, body, sha256, event_id, redriven_as, failed_as in rows:
        found.setdefault(int(letter_seq), []).append(
            RedrivePublic(
                at=parse_ts(at),
                by=by,
                attempt=attempt,
                body=body,
                sha256=sha256,
                event_id=event_id,
                redriven_as=redriven_as,
                failed_as=failed_as,
            )
        )
    return found
