"""A customer's consent history (readmodels/consents.py), oldest first."""

from __future__ import annotations

import json

from services.projections.models import ConsentChangePublic
from services.projections.queries.common import parse_ts_or_none
from services.projections.store import ReadStore
from services.projections.tables import parse_ts


def consent_history(store: ReadStore, customer_id: str) -> list[ConsentChangePublic]:
    """Every consent change of the surviving customer `customer_id` (merged ids' moved to it)."""
    rows = store.query(
        "SELECT seq, event_id, event_type, original_customer_id, occurred_at, received_at,"
        " source, given, purposes, channels FROM consents WHERE customer_id = ?"
        " ORDER BY occurred_at, seq",
        (customer_id,),
    )
    return [
        ConsentChangePublic(
            seq=r[0],
            event_id=r[1],
            event_type=r[2],
            recorded_for=r[3],
            occurred_at=parse_ts(r[4]),
            received_at=parse_ts_or_none(r[5]),
            source=r[6],
            given=bool(r[7]),
            purposes=json.loads(r[8]),
            channels=json.loads(r[9]),
        )
        for r in rows
    ]
