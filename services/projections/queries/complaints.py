"""Complaints: one complaint, the complaints filed in a period, the SLA state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.projections.models import (
    ComplaintListPublic,
    ComplaintPublic,
    EscalationPublic,
    RemedyPublic,
    SlaState,
    StepPublic,
    StepRejectionPublic,
)
from services.projections.queries.common import parse_ts_or_none
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore
from services.projections.tables import COMPLAINTS, Row, parse_ts, ts

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
        apology_due_at=parse_ts_or_none(doc["apology_due_at"]),
        apologised_at=parse_ts_or_none(row["apologised_at"]),
        sla_due_at=parse_ts_or_none(doc["sla_due_at"]),
        resolved_at=parse_ts_or_none(row["resolved_at"]),
        closed_at=parse_ts_or_none(doc["closed_at"]),
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
