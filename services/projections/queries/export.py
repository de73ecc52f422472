"""What the read store holds about one person, for their export (routes/export.py adds the
events recorded under their ids, read from RETENTION): docs/privacy.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.projections.exportmodels import ExportPublic, SurveyPublic
from services.projections.models import CustomerPublic
from services.projections.queries import customers
from services.projections.queries.complaints import complaint_public
from services.projections.queries.followups import followups_of
from services.projections.queries.referrals import referral_public
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore
from services.projections.tables import COMPLAINTS, REFERRALS, DocTable, Row, parse_ts

EVERY_ENTRY = 100_000_000  # the timeline's page size: all of it


def held_about(
    store: ReadStore,
    customer_id: str,
    now: datetime,
    settings: ProjectionSettings,
    dealerships: frozenset[str] | None,
) -> ExportPublic | None:
    """The export without `events`; None if the customer is unknown or of a dealership not
    among `dealerships` (None: all)."""
    profile = customers.customer(store, customer_id, now, settings, dealerships)
    if profile is None:
        return None
    survivor = profile.customer_id
    timeline = customers.timeline(store, survivor, 0, EVERY_ENTRY, None)
    complaints = _rows(
        store, COMPLAINTS, "customer_id = ? ORDER BY filed_at, complaint_id", survivor
    )
    referrals = _rows(
        store, REFERRALS, "customer_id = ? ORDER BY claimed_at, referral_id", survivor
    )
    return ExportPublic(
        customer_id=survivor,
        requested_id=customer_id,
        dealership_id=profile.dealership_id,
        customer_ids=[survivor, *profile.merged_ids],
        exported_at=now,
        profile=profile,
        timeline=timeline.entries if timeline is not None else [],
        complaints=[complaint_public(r, now, settings) for r in complaints],
        followups=followups_of(store, survivor, now, settings.classes),
        referrals=[referral_public(r) for r in referrals],
        referred_by_them=[referral_public(r) for r in _referred_by(store, profile)],
        surveys=_surveys(store, survivor),
        events=[],
    )


def _rows(store: ReadStore, table: DocTable, where: str, *params: Any) -> list[Row]:
    found = store.query(
        f"SELECT {', '.join(table.all_columns)} FROM {table.name} WHERE {where}", params
    )
    return [store.row_of(table, r) for r in found]


def _referred_by(store: ReadStore, profile: CustomerPublic) -> list[Row]:
    """The dealership's referral claims naming this person as the referrer: by the customer
    id a check found, or by one of their phones. (Candidates by a text match on the stored
    document, then checked exactly: the referrer is inside the document.)"""
    ids = {profile.customer_id, *profile.merged_ids}
    phones = set(profile.phones)
    patterns = [f'%"referrer_customer_id":"{i}"%' for i in ids]
    patterns += [f'%"referrer_phone":"{p}"%' for p in phones]
    where = " OR ".join("doc LIKE ?" for _ in patterns)
    candidates = _rows(
        store,
        REFERRALS,
        f"dealership_id = ? AND ({where}) ORDER BY claimed_at, referral_id",
        profile.dealership_id,
        *patterns,
    )

    def names_them(row: Row) -> bool:
        doc = row["doc"]
        if doc.get("referrer_customer_id") in ids:
            return True
        return any(c.get("referrer_phone") in phones for c in doc["claims"])

    return [r for r in candidates if r["customer_id"] not in ids and names_them(r)]


def _surveys(store: ReadStore, customer_id: str) -> list[SurveyPublic]:
    rows = store.query(
        "SELECT event_id, survey_id, kind, score, answered_at, advisor_id, department, rejected"
        " FROM surveys WHERE customer_id = ? ORDER BY answered_at, event_id",
        (customer_id,),
    )
    return [
        SurveyPublic(
            event_id=r[0],
            survey_id=r[1],
            kind=r[2],
            score=r[3],
            answered_at=parse_ts(r[4]),
            advisor_id=r[5],
            department=r[6],
            rejected=bool(r[7]),
        )
        for r in rows
    ]
