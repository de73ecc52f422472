"""Reading the models: rows to `*Public` answers. Each query is O(its result) on indexes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import from_json, to_json

from services.projections.classes import classify
from services.projections.models import (
    CallbackPublic,
    CheckPublic,
    ClaimPublic,
    ClassPublic,
    ComplaintListPublic,
    ComplaintPublic,
    CustomerPublic,
    EscalationPublic,
    FollowUpPublic,
    FollowUpStatus,
    ReferralPublic,
    RejectionPublic,
    RemedyPublic,
    RewardPublic,
    SlaState,
    StepPublic,
    StepRejectionPublic,
    TimelineEntryPublic,
    TimelinePublic,
    TouchpointPublic,
    VehiclePublic,
)
from services.projections.settings import ProjectionSettings
from services.projections.store import (
    COMPLAINTS,
    CUSTOMERS,
    FOLLOWUPS,
    REFERRALS,
    ReadStore,
    Row,
    parse_ts,
    ts,
)

STEP_NAMES = {
    1: "vent",
    2: "apologise",
    3: "investigate",
    4: "propose_remedy",
    5: "customer_agrees",
    6: "follow_up",
}
MAX_MERGE_HOPS = 50


def _dt(value: str | None) -> datetime | None:
    return parse_ts(value) if value else None


def among(dealerships: frozenset[str] | None) -> tuple[str, tuple[str, ...]]:
    """` AND dealership_id IN (…)` and its parameters: the rows of these dealerships only
    (None: of every one). Callers answer an empty set themselves (`IN ()` is not SQL)."""
    if dealerships is None:
        return "", ()
    names = tuple(sorted(dealerships))
    return f" AND dealership_id IN ({', '.join('?' * len(names))})", names


def canonical_row(store: ReadStore, customer_id: str) -> Row | None:
    row = store.doc(CUSTOMERS, customer_id)
    hops = 0
    while row is not None and row["merged_into"] and hops < MAX_MERGE_HOPS:
        row = store.doc(CUSTOMERS, row["merged_into"])
        hops += 1
    return row


def readable_row(store: ReadStore, customer_id: str, readable: frozenset[str] | None) -> Row | None:
    """The customer's surviving row, None if unknown or of a dealership not readable (the
    caller cannot tell which: another dealership's ids do not exist for it)."""
    row = canonical_row(store, customer_id)
    if row is None or (readable is not None and row["dealership_id"] not in readable):
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
    return customer_public(row, customer_id, now, settings)


def customer_public(
    row: Row, requested_id: str, now: datetime, settings: ProjectionSettings
) -> CustomerPublic:
    doc = row["doc"]
    found = classify(doc["stats"], row["last_touch_at"], now, settings.classes)
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
        external_ids=list(doc["external_ids"]),
        flagged_phones=list(doc["flagged_phones"]),
        birthday=doc["birthday"],
        family=doc["family"],
        advisor_id=row["advisor_id"],
        consent=doc["consent"],
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


def sla_state(row: Row, now: datetime, settings: ProjectionSettings) -> SlaState:
    doc = row["doc"]
    if row["resolved_at"] is not None:
        return "on_time" if row["within_sla"] else "breached"
    if doc["sla_breached"]:
        return "breached"
    if doc["sla_due_at"] is None:  # complaints has not recorded its clocks yet
        return "on_time"
    filed, due = parse_ts(row["filed_at"]), parse_ts(doc["sla_due_at"])
    if now > due:
        return "breached"
    at_risk_from = filed + (due - filed) * settings.timings(row["dealership_id"]).at_risk_share
    apology_late = row["apologised_at"] is None and now > parse_ts(doc["apology_due_at"])
    if now >= at_risk_from or apology_late or doc["apology_overdue"]:
        return "at_risk"
    return "on_time"


def _remedy(r: dict[str, Any]) -> RemedyPublic:
    return RemedyPublic(
        remedy=r["remedy"],
        amount_cny=r["amount_cny"],
        proposed_by=r["proposed_by"],
        role=r["role"],
        at=parse_ts(r["at"]),
        status=r["status"],
        why=r.get("why"),
    )


def complaint(
    store: ReadStore,
    dealership_id: str,
    complaint_id: str,
    now: datetime,
    settings: ProjectionSettings,
) -> ComplaintPublic | None:
    row = store.doc(COMPLAINTS, dealership_id, complaint_id)
    return None if row is None else complaint_public(row, now, settings)


def complaints_filed(
    store: ReadStore,
    dealership_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    settings: ProjectionSettings,
    offset: int,
    limit: int,
) -> ComplaintListPublic:
    """The complaints filed in [start, end), oldest first (index `complaints_filed`)."""
    columns = ", ".join(COMPLAINTS.all_columns)
    rows = store.query(
        f"SELECT {columns} FROM complaints WHERE dealership_id = ? AND filed_at >= ?"
        " AND filed_at < ? ORDER BY filed_at, complaint_id LIMIT ? OFFSET ?",
        (dealership_id, ts(start), ts(end), limit, offset),
    )
    items = [complaint_public(store.row_of(COMPLAINTS, r), now, settings) for r in rows]
    return ComplaintListPublic(
        dealership_id=dealership_id,
        period_from=start,
        period_to=end,
        as_of=now,
        count=len(items),
        items=items,
    )


def complaint_public(row: Row, now: datetime, settings: ProjectionSettings) -> ComplaintPublic:
    doc = row["doc"]
    remedies = [_remedy(r) for r in doc["remedies"]]
    current = next((r for r in remedies if r.status == "accepted"), None) or next(
        (r for r in remedies if r.status == "proposed"), None
    )
    return ComplaintPublic(
        complaint_id=row["complaint_id"],
        dealership_id=row["dealership_id"],
        customer_id=row["customer_id"],
        category=row["category"],
        severity=doc["severity"],
        channel=doc["channel"],
        description=doc["description"],
        vin=doc["vin"],
        repair_order_id=doc["repair_order_id"],
        advisor_id=row["advisor_id"],
        department=row["department"],
        step=doc["step"],
        step_name=STEP_NAMES[doc["step"]],
        steps=[
            StepPublic(step=int(k), name=STEP_NAMES[int(k)], at=parse_ts(v))
            for k, v in sorted(doc["steps"].items(), key=lambda kv: int(kv[0]))
        ],
        filed_at=parse_ts(row["filed_at"]),
        apology_due_at=_dt(doc["apology_due_at"]),
        apologised_at=_dt(row["apologised_at"]),
        sla_due_at=_dt(doc["sla_due_at"]),
        resolved_at=_dt(row["resolved_at"]),
        closed_at=_dt(doc["closed_at"]),
        hours_to_apology=doc["hours_to_apology"],
        hours_to_resolution=doc["hours_to_resolution"],
        remedy=current,
        remedies=remedies,
        sla_state=sla_state(row, now, settings),
        within_sla=None if row["within_sla"] is None else bool(row["within_sla"]),
        apology_overdue=doc["apology_overdue"],
        escalations=[EscalationPublic.model_validate(e) for e in doc["escalations"]],
        rejections=[StepRejectionPublic.model_validate(r) for r in doc["rejections"]],
        satisfaction=doc["satisfaction"],
        callback_outcome=doc.get("callback_outcome"),
        as_of=now,
    )


def _followup_where(status: FollowUpStatus, now: datetime) -> tuple[str, list[Any]]:
    stamp = ts(now)
    if status == "due":
        return "status = 'open' AND due_at >= ?", [stamp]
    if status == "overdue":
        return "status = 'open' AND due_at < ?", [stamp]
    if status == "done":
        return "status = 'done'", []
    return "status = 'skipped'", []


def _followup_rows(
    store: ReadStore,
    columns: Sequence[str],
    dealership_id: str,
    status: FollowUpStatus,
    now: datetime,
    limit: int,
) -> list[tuple[Any, ...]]:
    where, params = _followup_where(status, now)
    return store.query(
        f"SELECT {', '.join(columns)} FROM followups WHERE dealership_id = ? AND {where}"
        " ORDER BY due_at, follow_up_id LIMIT ?",
        (dealership_id, *params, limit),
    )


def followups(
    store: ReadStore, dealership_id: str, status: FollowUpStatus, now: datetime, limit: int
) -> list[FollowUpPublic]:
    """The work list as validated models: the reference `followup_list_json` must equal."""
    rows = _followup_rows(store, FOLLOWUPS.all_columns, dealership_id, status, now, limit)
    return [_followup(store.row_of(FOLLOWUPS, r), now) for r in rows]


def _followup(row: Row, now: datetime) -> FollowUpPublic:
    doc = row["doc"]
    status: FollowUpStatus
    if row["status"] == "done":
        status = "done"
    elif row["status"] == "skipped":
        status = "skipped"
    else:
        status = "overdue" if row["due_at"] < ts(now) else "due"
    return FollowUpPublic(
        follow_up_id=row["follow_up_id"],
        customer_id=row["customer_id"],
        status=status,
        reason=row["reason"],
        channel=doc.get("channel"),
        due_at=_dt(row["due_at"]),
        done_at=_dt(row["done_at"]),
        outcome=doc.get("outcome"),
        satisfaction=doc.get("satisfaction"),
        skip_reason=doc.get("skip_reason"),
        rules_applied=doc.get("rules_applied", []),
        detail=doc.get("detail", {}),
        priority=doc.get("priority") or 0,
        complaint_id=doc.get("complaint_id"),
        referral_id=doc.get("referral_id"),
        survey_id=doc.get("survey_id"),
        advisor_id=row["advisor_id"],
        department=row["department"],
    )


# The work list's fast path. A page is 500 follow-ups: validating 500 `FollowUpPublic`
# from decoded documents cost half of the request and made most of the garbage whose
# collections set the p99. Here each row becomes a plain dict of JSON values (document
# decoded by pydantic-core's parser, twice as fast as `json`), and the page is written by
# pydantic-core's serialiser, the one `model_dump_json` uses: the same bytes as the models
# would give (tests/projections/test_worklist_fastpath.py checks it).
FOLLOWUP_COLUMNS = (
    "follow_up_id",
    "customer_id",
    "status",
    "due_at",
    "done_at",
    "reason",
    "advisor_id",
    "department",
    "doc",
)
_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def public_ts(stored: str | None) -> str | None:
    """A stored timestamp as pydantic writes the aware datetime it stands for (`Z`, and no
    fraction when the microseconds are 0), without parsing it when it has `ts()`'s shape."""
    if stored is None:
        return None
    if len(stored) == 27 and stored[19] == "." and stored[26] == "Z":
        return f"{stored[:19]}Z" if stored.endswith(".000000Z") else stored
    return str(_DATETIME.dump_python(parse_ts(stored), mode="json"))


def followup_item(values: Sequence[Any], stamp: str) -> dict[str, Any]:
    """One `FOLLOWUP_COLUMNS` row as `FollowUpPublic`'s JSON object (same keys, same order,
    same values as `_followup`); `stamp` is `ts(now)`."""
    follow_up_id, customer_id, stored_status, due_at, done_at, reason, advisor, dept, text = values
    doc = from_json(text)
    get = doc.get
    if stored_status == "done" or stored_status == "skipped":
        status = stored_status
    else:
        status = "overdue" if due_at < stamp else "due"
    return {
        "follow_up_id": follow_up_id,
        "customer_id": customer_id,
        "status": status,
        "reason": reason,
        "channel": get("channel"),
        "due_at": public_ts(due_at),
        "done_at": public_ts(done_at),
        "outcome": get("outcome"),
        "satisfaction": get("satisfaction"),
        "skip_reason": get("skip_reason"),
        "rules_applied": get("rules_applied", []),
        "detail": get("detail", {}),
        "priority": get("priority") or 0,
        "complaint_id": get("complaint_id"),
        "referral_id": get("referral_id"),
        "survey_id": get("survey_id"),
        "advisor_id": advisor,
        "department": dept,
    }


def followup_list_json(
    store: ReadStore, dealership_id: str, status: FollowUpStatus, now: datetime, limit: int
) -> bytes:
    """The work list page (`FollowUpListPublic`) as JSON, without building its models."""
    rows = _followup_rows(store, FOLLOWUP_COLUMNS, dealership_id, status, now, limit)
    stamp = ts(now)
    items = [followup_item(r, stamp) for r in rows]
    page = {
        "dealership_id": dealership_id,
        "status": status,
        "as_of": _DATETIME.dump_python(now, mode="json"),
        "count": len(items),
        "items": items,
    }
    return to_json(page)


def referral(store: ReadStore, dealership_id: str, referral_id: str) -> ReferralPublic | None:
    row = store.doc(REFERRALS, dealership_id, referral_id)
    if row is None:
        return None
    doc = row["doc"]
    claim = doc["claims"][-1]
    callback = doc["callback"]
    reward = doc["reward"]
    rejection = doc["rejection"]
    return ReferralPublic(
        referral_id=referral_id,
        dealership_id=dealership_id,
        referee_customer_id=row["customer_id"],
        referrer_customer_id=doc["referrer_customer_id"]
        or (reward["referrer_customer_id"] if reward else None),
        claimed_at=parse_ts(row["claimed_at"]),
        claim=ClaimPublic(
            at=parse_ts(claim["at"]),
            referrer=claim["referrer"],
            vin=claim["vin"],
            source=claim["source"],
        ),
        claims=len(doc["claims"]),
        checks=[
            CheckPublic(
                name=c["name"], passed=c["passed"], at=parse_ts(c["at"]), detail=c["detail"]
            )
            for c in doc["checks"]
        ],
        callback=CallbackPublic(
            at=parse_ts(callback["at"]), questions=len(callback["answers"]), wrong=callback["wrong"]
        )
        if callback
        else None,
        verdict=row["verdict"],
        rejection=RejectionPublic(
            at=parse_ts(rejection["at"]), reason=rejection["reason"], detail=rejection["detail"]
        )
        if rejection
        else None,
        reward=RewardPublic(
            at=parse_ts(reward["at"]),
            kind=reward["kind"],
            amount_cny=reward["amount_cny"],
            referrer_customer_id=reward["referrer_customer_id"],
        )
        if reward
        else None,
    )
