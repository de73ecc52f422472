"""Follow-ups: the work list, as models and on its fast path (JSON without models)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import from_json, to_json

from services.projections.models import (
    FollowUpPublic,
    FollowUpStatus,
)
from services.projections.queries.common import parse_ts_or_none
from services.projections.store import ReadStore
from services.projections.tables import FOLLOWUPS, Row, parse_ts, ts


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
        due_at=parse_ts_or_none(row["due_at"]),
        done_at=parse_ts_or_none(row["done_at"]),
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
