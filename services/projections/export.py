"""The events recorded under a person's ids, read back from RETENTION for their export
(the read store's part is queries/export.py): docs/privacy.md."""

from __future__ import annotations

import json
from collections.abc import Sequence

from nats.js import JetStreamContext

from events import Rejected
from laoke.keyring import Keyring
from laoke.sealing import load_for, read_recorded
from services.projections.audit import audit_subject
from services.projections.exportmodels import RecordedEventPublic
from services.projections.reader import read_stream


async def recorded_events(
    js: JetStreamContext, dealership_id: str, customer_ids: Sequence[str], keyring: Keyring
) -> list[RecordedEventPublic]:
    """Every event on RETENTION recorded under one of these ids, in stream order, each
    read back as the services read it, its sealed fields opened with `keyring` (an
    unreadable one as its JSON, with the reason)."""
    found: list[RecordedEventPublic] = []
    for customer_id in dict.fromkeys(customer_ids):
        async for batch in read_stream(js, audit_subject(dealership_id, customer_id)):
            await load_for(keyring, batch)
            found.extend(
                _read_back(m.metadata.sequence.stream, m.subject, m.data, keyring) for m in batch
            )
    return sorted(found, key=lambda e: e.seq)


def _read_back(seq: int, subject: str, data: bytes, keyring: Keyring) -> RecordedEventPublic:
    try:
        event = read_recorded(data, keyring)
    except Rejected as exc:
        try:
            raw = json.loads(data)
        except ValueError:
            raw = None
        body = raw if isinstance(raw, dict) else {"text": data.decode("utf-8", "replace")}
        return RecordedEventPublic(seq=seq, subject=subject, event=body, error=str(exc))
    body = event.model_dump(mode="json", exclude_none=True)
    return RecordedEventPublic(seq=seq, subject=subject, event=body)
