"""Complaints: one complaint, the complaint list (by status, category, advisor, filing
period; keyset-paged, queries/paging.py), the SLA state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.projections.models import (
    ComplaintListPublic,
    ComplaintPublic,
    ComplaintStatus,
    EscalationPublic,
    RemedyPublic,
    ReopeningPublic,
    SlaState,
    StepPublic,
    StepRejectionPublic,
)
from services.projections.queries import paging
from services.projections.queries.common import parse_ts_or_none
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore
from services.projections.tables import COMPLAINTS, Row, complaint_status, parse_ts, ts

STEP_NAMES = {
    1: "vent",
    2: "apologise",
    3: "investigate",
    4: "propose_remedy",
    5: "customer_agrees",
    6: "follow_up",
}


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


@dataclass(frozen=True)
class ComplaintList:
    """One page asked for: whose complaints, which, from where."""

    dealership_id: str
    now: datetime
    limit: int
    status: ComplaintStatus | None = None
    category: str | None = None
    advisor_id: str | None = None
    filed_from: datetime | None = None
    filed_to: datetime | None = None
    offset: int = 0  # rows skipped after the position (the list's older paging)
    after: paging.Key | None = None  # the cursor: (filed_at as stored, complaint_id)


ORDER = ("filed_at", "complaint_id")
CURSOR_CHECKS = (parse_ts, str)


def _rows(store: ReadStore, page: ComplaintList, position: paging.Key | None, n: int) -> list[Row]:
    """Up to `n` complaints after the position, oldest filing first (index `complaints_list`,
    or `complaints_list_status` for one status); category and advisor are tested on the
    rows the index yields."""
    where, params = ["dealership_id = ?"], [page.dealership_id]
    for column, value in (
        ("status", page.status),
        ("category", page.category),
        ("advisor_id", page.advisor_id),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if page.filed_from is not None:
        where.append("filed_at >= ?")
        params.append(ts(page.filed_from))
    if page.filed_to is not None:
        where.append("filed_at < ?")
        params.append(ts(page.filed_to))
    rest, more = paging.after(ORDER, position)
    found = store.query(
        f"SELECT {', '.join(COMPLAINTS.all_columns)} FROM complaints WHERE"
        f" {' AND '.join(where)}{rest} ORDER BY filed_at, complaint_id LIMIT ? OFFSET ?",
        # `offset` on the first read only (positions only grow along a walk)
        (*params, *more, n, page.offset if position == page.after else 0),
    )
    return [store.row_of(COMPLAINTS, r) for r in found]


def _key(row: Row) -> paging.Key:
    return row["filed_at"], row["complaint_id"]


def complaint_list(
    store: ReadStore, page: ComplaintList, settings: ProjectionSettings
) -> ComplaintListPublic:
    def fetch(position: paging.Key | None, n: int) -> list[Row]:
        return _rows(store, page, position, n)

    rows, next_cursor = paging.page(fetch, _key, page.after, page.limit)
    return ComplaintListPublic(
        dealership_id=page.dealership_id,
        status=page.status,
        period_from=page.filed_from,
        period_to=page.filed_to,
        as_of=page.now,
        count=len(rows),
        items=[complaint_public(row, page.now, settings) for row in rows],
        next_cursor=next_cursor,
    )


def complaint_chunks(
    store: ReadStore, page: ComplaintList, settings: ProjectionSettings, size: int
) -> Iterator[list[dict[str, Any]]]:
    """Every complaint of the list from the page's cursor on, as the JSON page's items,
    `size` at a time (CSV)."""

    def fetch(position: paging.Key | None, n: int) -> list[Row]:
        return _rows(store, page, position, n)

    for rows in paging.chunks(fetch, _key, page.after, size):
        yield [complaint_public(r, page.now, settings).model_dump(mode="json") for r in rows]


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
        status=complaint_status(row),
        step=doc["step"],
        step_name=STEP_NAMES[doc["step"]],
        steps=[
            StepPublic(
                step=int(k),
                name=STEP_NAMES[int(k)],
                at=parse_ts(v),
                backdated=k in doc.get("backdated", {}),
                received_at=parse_ts_or_none(doc.get("backdated", {}).get(k)),
            )
            for k, v in sorted(doc["steps"].items(), key=lambda kv: int(kv[0]))
        ],
        filed_at=parse_ts(row["filed_at"]),
        apology_due_at=parse_ts_or_none(doc["apology_due_at"]),
        apologised_at=parse_ts_or_none(row["apologised_at"]),
        sla_due_at=parse_ts_or_none(doc["sla_due_at"]),
        general_manager_due_at=parse_ts_or_none(doc.get("general_manager_due_at")),
        clock=doc.get("clock"),
        apology_within_hours=doc.get("apology_within_hours"),
        sla_hours=doc.get("sla_hours"),
        resolved_at=parse_ts_or_none(row["resolved_at"]),
        closed_at=parse_ts_or_none(doc["closed_at"]),
        hours_to_apology=doc["hours_to_apology"],
        hours_to_resolution=doc["hours_to_resolution"],
        business_hours_to_apology=doc.get("business_hours_to_apology"),
        business_hours_to_resolution=doc.get("business_hours_to_resolution"),
        reopenings=[ReopeningPublic.model_validate(r) for r in doc.get("reopenings", [])],
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
