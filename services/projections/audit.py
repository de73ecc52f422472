"""`GET /v1/audit`: the recorded events themselves, NDJSON, in stream order, hash-chained.

Each line is `{"seq":…,"subject":"…","hash":"…","opened":{…},"event":<the stored bytes>}`:
`opened` holds the event's sealed personal fields by path, decrypted (absent when it has none
or its customer was erased: laoke/sealing.py); `event` is last and is the exact bytes of
the RETENTION message, so a reader can cut them out of the
line (everything after `"event":` but the closing brace). `hash` = sha256(previous hash as
hex text + those bytes), starting from the empty string. The last line is the trailer:
`{"trailer":true,"count":…,"final_hash":"…","first_seq":…,"last_seq":…,"filter":"…"}`.
A dropped, added or altered line breaks the chain or the count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime

from nats.js import JetStreamContext

from events.personal import SEALED
from laoke.keyring import Keyring
from laoke.sealing import load_for, opened
from services.projections.reader import read_stream


def audit_subject(dealership_id: str | None, customer_id: str | None) -> str:
    return f"retention.{dealership_id or '*'}.{customer_id or '*'}.*"


def chain(previous: str, raw: bytes) -> str:
    return hashlib.sha256(previous.encode("ascii") + raw).hexdigest()


def _in_period(raw: bytes, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    try:
        occurred = datetime.fromisoformat(json.loads(raw)["occurred_at"])
    except (ValueError, KeyError, TypeError):
        return False
    if occurred.tzinfo is None:
        return False
    if start is not None and occurred < start:
        return False
    return not (end is not None and occurred >= end)


async def audit_lines(
    js: JetStreamContext,
    dealership_id: str | None,
    customer_id: str | None,
    start: datetime | None,
    end: datetime | None,
    keyring: Keyring | None = None,
) -> AsyncIterator[bytes]:
    subject = audit_subject(dealership_id, customer_id)
    previous = ""
    count = 0
    first_seq: int | None = None
    last_seq: int | None = None
    async for batch in read_stream(js, subject):
        await load_for(keyring, batch)
        chunk: list[bytes] = []
        for message in batch:
            raw = bytes(message.data)
            if not _in_period(raw, start, end):
                continue
            seq = message.metadata.sequence.stream
            previous = chain(previous, raw)
            count += 1
            first_seq = first_seq or seq
            last_seq = seq
            head = json.dumps(
                {"seq": seq, "subject": message.subject, "hash": previous} | _opened(keyring, raw),
                ensure_ascii=False,
            )
            chunk.append(head[:-1].encode() + b', "event": ' + raw + b"}\n")
        if chunk:
            yield b"".join(chunk)
    trailer = {
        "trailer": True,
        "count": count,
        "final_hash": previous,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "filter": subject,
    }
    yield json.dumps(trailer).encode() + b"\n"


def _opened(keyring: Keyring | None, raw: bytes) -> dict[str, object]:
    if keyring is None or b'"' + SEALED.encode() + b'":' not in raw:
        return {}
    event = json.loads(raw)
    values = opened(keyring, event, event[SEALED])
    return {"opened": values} if values is not None else {}


def raw_event(line: bytes) -> bytes:
    """The stored bytes inside an audit line (for checking the chain)."""
    marker = b', "event": '
    body = line.rstrip(b"\n")
    return body[body.index(marker) + len(marker) : -1]
