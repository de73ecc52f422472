"""Customers: the profile (following merges to the survivor), lookup, the timeline."""

from __future__ import annotations

from datetime import datetime

from laoke.merges import survivor
from services.projections.classes import classify
from services.projections.models import (
    ClassPublic,
    ConsentChangePublic,
    ConsentPublic,
    CustomerPublic,
    TimelineEntryPublic,
    TimelinePublic,
    TouchpointPublic,
    VehiclePublic,
)
from services.projections.queries.common import among
from services.projections.queries.consents import consent_history
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore
from services.projections.tables import CUSTOMERS, Row, parse_ts, plates_of


def canonical_row(store: ReadStore, customer_id: str) -> Row | None:
    """The row of the customer `customer_id` stands for (following merges)."""

    def merged_into(candidate: str) -> str | None:
        row = store.doc(CUSTOMERS, candidate)
        return row["merged_into"] if row is not None else None

    return store.doc(CUSTOMERS, survivor(customer_id, merged_into))


def readable_row(store: ReadStore, customer_id: str, readable: frozenset[str] | None) -> Row | None:
    """The customer's surviving row, None if unknown, erased (readmodels/erasure.py) or of a
    dealership not readable (the caller cannot tell which: another dealership's ids do not
    exist for it)."""
    row = canonical_row(store, customer_id)
    if row is None or (readable is not None and row["dealership_id"] not in readable):
        return None
    if "erased" in row["doc"]:
        return None
    return row


def customer(
    store: ReadStore,
    customer_id: str,
    now: datetime,
    settings: ProjectionSettings,
    readable: frozenset[str] | None,
) -> CustomerPublic | None:
    row = readable_row(store, customer_id, readable)
    if row is None:
        return None
    history = consent_history(store, row["customer_id"])
    return customer_public(row, customer_id, now, settings, history)


def customer_public(
    row: Row,
    requested_id: str,
    now: datetime,
    settings: ProjectionSettings,
    history: list[ConsentChangePublic],
) -> CustomerPublic:
    doc = row["doc"]
    found = classify(doc, row["last_touch_at"], now, settings.classes)
    last = doc.get("last_touchpoint")
    stats = dict(doc["stats"])
    stats.pop("last_big_purchase_at", None)
    return CustomerPublic(
        customer_id=row["customer_id"],
        requested_id=requested_id,
        merged_into=row["customer_id"] if requested_id != row["customer_id"] else None,
        merged_ids=list(doc["merged_ids"]),
        dealership_id=row["dealership_id"],
        name=doc["name"],
        phones=list(doc["phones"]),
        plates=plates_of(doc),
        external_ids=list(doc["external_ids"]),
        flagged_phones=list(doc["flagged_phones"]),
        birthday=doc["birthday"],
        family=doc["family"],
        advisor_id=row["advisor_id"],
        consent=ConsentPublic.model_validate({**doc["consent"], "history": history}),
        vehicles=[VehiclePublic.model_validate(v) for _, v in sorted(doc["vehicles"].items())],
        customer_class=found.customer_class,
        classification=ClassPublic(
            name=found.customer_class, because=found.because, facts=found.facts, as_of=now
        ),
        first_seen_at=parse_ts(doc["first_seen_at"]),
        last_touchpoint=TouchpointPublic.model_validate(last) if last else None,
        stats=stats,
    )


def lookup(
    store: ReadStore, kind: str, value: str, dealerships: frozenset[str] | None
) -> list[str]:
    """Customer ids holding the identity (phone / vin) at these dealerships (None: all),
    survivors only, by dealership."""
    if dealerships is not None and not dealerships:
        return []
    where, params = among(dealerships)
    rows = store.query(
        f"SELECT customer_id FROM identities WHERE kind = ? AND value = ?{where}"
        " ORDER BY dealership_id",
        (kind, value, *params),
    )
    return list(dict.fromkeys(r[0] for r in rows))


def timeline(
    store: ReadStore,
    customer_id: str,
    offset: int,
    limit: int,
    readable: frozenset[str] | None,
) -> TimelinePublic | None:
    row = readable_row(store, customer_id, readable)
    if row is None:
        return None
    survivor = row["customer_id"]
    total = store.query("SELECT COUNT(*) FROM timeline WHERE customer_id = ?", (survivor,))[0][0]
    rows = store.query(
        "SELECT seq, event_id, event_type, occurred_at, source, touchpoint, summary,"
        " original_customer_id FROM timeline WHERE customer_id = ?"
        " ORDER BY occurred_at, seq LIMIT ? OFFSET ?",
        (survivor, limit, offset),
    )
    entries = [
        TimelineEntryPublic(
            seq=r[0],
            event_id=r[1],
            event_type=r[2],
            occurred_at=parse_ts(r[3]),
            source=r[4],
            touchpoint=bool(r[5]),
            summary=r[6],
            recorded_for=r[7],
        )
        for r in rows
    ]
    return TimelinePublic(
        customer_id=survivor,
        requested_id=customer_id,
        total=int(total),
        offset=offset,
        limit=limit,
        entries=entries,
    )
