"""Applying RETENTION_DLQ to the dead-letter tables, exactly once in effect.

A run of messages is applied in one transaction with the consumer's position (as the
read models of RETENTION are: services/projections/application.py). Each letter becomes a
row under the dealership it was sent for; each re-drive record (`dlq.ops.redriven`,
laoke/dlq.py) a row of `redrives`, and the letter a re-driven message became when intake
refused it again is tied to the letter it re-drove, whichever of the two came first.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nats.aio.msg import Msg
from pydantic import ValidationError

from laoke.dlq import DEALERSHIP, LETTER_HEADERS, REDRIVES, Redrive, subject_dealership
from laoke.durable import stream_sequence
from laoke.partitions import DEALER_IN_TOKEN, RETENTION_TOKEN, Partition
from laoke.settings import LaokeSettings
from laoke.streams import DLQ_MAX_AGE_S
from services.projections.store import ReadStore
from services.projections.tables import ts
from services.projections.transaction import Tx

log = logging.getLogger(__name__)
NAME = "deadletters"  # the SQLite file and the PostgreSQL schema
CONSUMER = "projections-dlq"
MAX_AGE = timedelta(seconds=DLQ_MAX_AGE_S)
TEXT_CHARS = 200  # event ids and types read from a body are cut here (it may be anything)

SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS positions (consumer TEXT PRIMARY KEY, seq BIGINT NOT NULL)",
    # One row per letter: `seq` is its RETENTION_DLQ sequence (its id), `at` when it was
    # stored there, `body` the original bytes in base64, `headers` its input's (JSON).
    "CREATE TABLE IF NOT EXISTS dead_letters (seq BIGINT PRIMARY KEY, dealership_id TEXT,"
    " service TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL, error TEXT NOT NULL,"
    " origin TEXT NOT NULL, subject TEXT, event_id TEXT, event_type TEXT, body TEXT NOT NULL,"
    " headers TEXT NOT NULL, redrive_of BIGINT, attempt INTEGER NOT NULL)",
    # A dealership's list, newest first, as the work list reads its own (tables.py): one
    # index per filter, the order straight from it.
    "CREATE INDEX IF NOT EXISTS dead_letters_list ON dead_letters (dealership_id, service, at,"
    " seq)",
    "CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters (dealership_id, service,"
    " reason, at, seq)",
    "CREATE INDEX IF NOT EXISTS dead_letters_at ON dead_letters (at, seq)",
    "CREATE INDEX IF NOT EXISTS dead_letters_origin ON dead_letters (origin)",
    "CREATE TABLE IF NOT EXISTS redrives (seq BIGINT PRIMARY KEY, letter_seq BIGINT NOT NULL,"
    " dealership_id TEXT, at TEXT NOT NULL, redriven_by TEXT NOT NULL, attempt INTEGER NOT"
    " NULL, body TEXT NOT NULL, sha256 TEXT NOT NULL, event_id TEXT, redriven_as TEXT NOT"
    " NULL, subject TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS redrives_letter ON redrives (letter_seq, seq)",
    "CREATE INDEX IF NOT EXISTS redrives_as ON redrives (redriven_as)",
)


class DeadLetterStore(ReadStore):
    """`<data_dir>/deadletters.sqlite3`, or the PostgreSQL schema `deadletters`."""

    def __init__(self, settings: LaokeSettings) -> None:
        super().__init__(settings, name=NAME, schema=NAME)

    def create_tables(self, tx: Tx) -> None:
        for statement in SCHEMA:
            tx.execute(statement)


@dataclass(frozen=True)
class Letter:
    """One RETENTION_DLQ message as pulled."""

    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes
    at: datetime  # when the stream stored it

    @classmethod
    def of(cls, message: Msg) -> Letter:
        return cls(
            stream_sequence(message),
            message.subject,
            dict(message.headers or {}),
            message.data or b"",
            message.metadata.timestamp,
        )

    def dealership(self) -> str | None:
        """Whose letter it is: as the dead-lettering service said, or (letters written
        before it said) the dealership its original subject names."""
        if self.headers.get(DEALERSHIP):
            return self.headers[DEALERSHIP]
        original = self.headers.get("Laoke-Original-Subject", "")
        token = RETENTION_TOKEN if original.startswith("retention.") else DEALER_IN_TOKEN
        return subject_dealership(original, token)


def owns(partition: Partition, dealership: str | None) -> bool:
    """A partition's letters are its dealerships'; those of no known dealership, the first's."""
    return partition.has(dealership) if dealership is not None else partition.index == 0


def apply_letters(
    store: DeadLetterStore, letters: Sequence[Letter], partition: Partition, through: int
) -> None:
    """Apply this partition's letters of a run; the position moves to `through`."""
    consumer = partition.durable(CONSUMER)
    with store.transaction() as tx:
        position = tx.position(consumer)
        fresh = [letter for letter in letters if letter.seq > position]
        for letter in fresh:
            if owns(partition, letter.dealership()):
                _apply(tx, letter)
        if fresh:
            _forget_before(tx, max(letter.at for letter in fresh) - MAX_AGE)
        if through > position:
            tx.set_position(consumer, through)


def _apply(tx: Tx, letter: Letter) -> None:
    if letter.subject == REDRIVES:
        try:
            redrive = Redrive.model_validate_json(letter.data)
        except ValidationError as exc:  # only ops write here: a bug, not a sender's doing
            log.warning("dead letters: re-drive record %d unreadable: %s", letter.seq, exc)
            return
        _redriven(tx, letter.seq, redrive)
        return
    service, _, reason = letter.subject.removeprefix("dlq.").partition(".")
    headers = letter.headers
    origin = headers.get("Laoke-Origin", f"RETENTION_DLQ:{letter.seq}")
    redrive_of, attempt = None, 1
    if service == "intake":  # a re-driven message intake refused again?
        found = tx.query(
            "SELECT letter_seq, attempt FROM redrives WHERE redriven_as = ?", (origin,)
        )
        if found:
            redrive_of, attempt = int(found[0][0]), int(found[0][1])
    event_id, event_type = _named(letter.data)
    tx.execute(
        "INSERT INTO dead_letters (seq, dealership_id, service, reason, at, error, origin,"
        " subject, event_id, event_type, body, headers, redrive_of, attempt) VALUES (?, ?, ?,"
        " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
        (
            letter.seq,
            letter.dealership(),
            headers.get("Laoke-Service", service),
            headers.get("Laoke-Reason", reason),
            ts(letter.at),
            headers.get("Laoke-Error", ""),
            origin,
            headers.get("Laoke-Original-Subject"),
            event_id,
            event_type,
            base64.b64encode(letter.data).decode(),
            json.dumps(
                {k: v for k, v in sorted(headers.items()) if k not in LETTER_HEADERS},
                ensure_ascii=False,
            ),
            redrive_of,
            attempt,
        ),
    )


def _redriven(tx: Tx, seq: int, redrive: Redrive) -> None:
    corrected = redrive.body == "corrected"
    tx.execute(
        "INSERT INTO redrives (seq, letter_seq, dealership_id, at, redriven_by, attempt, body,"
        " sha256, event_id, redriven_as, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (seq) DO NOTHING",
        (
            seq,
            redrive.letter,
            redrive.dealership_id,
            ts(redrive.at),
            redrive.by,
            redrive.attempt,
            "corrected" if corrected else "original",
            redrive.sha256,
            redrive.event_id,
            redrive.redriven_as,
            redrive.subject,
        ),
    )
    # Intake may have refused the re-driven message before this record reached the stream.
    tx.execute(
        "UPDATE dead_letters SET redrive_of = ?, attempt = ? WHERE origin = ?"
        " AND service = 'intake'",
        (redrive.letter, redrive.attempt, redrive.redriven_as),
    )


def _named(data: bytes) -> tuple[str | None, str | None]:
    """The event id and type a body names, if it is a JSON object that names them."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    found = [body.get(key) for key in ("event_id", "event_type")]
    event_id, event_type = (v[:TEXT_CHARS] if isinstance(v, str) else None for v in found)
    return event_id, event_type


def _forget_before(tx: Tx, cutoff: datetime) -> None:
    """Letters the stream no longer holds (kept DLQ_MAX_AGE_S) leave the tables too."""
    stamp = ts(cutoff)
    tx.execute("DELETE FROM dead_letters WHERE at < ?", (stamp,))
    tx.execute("DELETE FROM redrives WHERE at < ?", (stamp,))


def body_of(text: str) -> bytes:
    """A row's `body` back to the original bytes."""
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:  # pragma: no cover - written by `_apply` only
        return text.encode()


def row_headers(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text)
    return loaded
