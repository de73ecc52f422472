"""The work list's JSON fast path writes exactly the bytes its models would write."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from services.projections.api import build_app
from services.projections.models import FollowUpListPublic, FollowUpStatus
from services.projections.queries.followups import followup_list_json, followups, public_ts
from services.projections.service import ProjectionsService
from services.projections.store import ReadStore
from services.projections.tables import FOLLOWUPS, ts

DEALERSHIP = "demo-4s"
NOW = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
STATUSES: tuple[FollowUpStatus, ...] = ("due", "overdue", "done", "skipped")
EDGE_DETAIL = {
    "节日": "春节 🧧",
    "quote": 'say "hi" \\ back\nthen\ttab\x01\x1f\x7f',
    "separators": "\u2028\u2029</script>",
    "": "",
}


def _row(follow_up_id: str, status: str, due_at: str | None, **fields: Any) -> dict[str, Any]:
    doc = fields.pop("doc", None)
    return {
        "dealership_id": fields.pop("dealership_id", DEALERSHIP),
        "follow_up_id": follow_up_id,
        "customer_id": fields.pop("customer_id", "c-1"),
        "status": status,
        "due_at": due_at,
        "done_at": fields.pop("done_at", None),
        "reason": fields.pop("reason", "purchase_call_7d"),
        "advisor_id": fields.pop("advisor_id", "adv-1"),
        "department": fields.pop("department", "sales"),
        "doc": doc
        if doc is not None
        else {
            "planned_at": ts(NOW),
            "outcome": None,
            "rules_applied": [],
            "detail": {},
            "channel": "phone",
            "priority": 0,
            "survey_id": None,
            "complaint_id": None,
            "referral_id": None,
            "party": None,
            "source": "outreach",
        }
        | fields,
    }


def _edge_rows() -> list[dict[str, Any]]:
    """Follow-ups of every status with the values most likely to be written differently."""
    at = NOW.replace(microsecond=0)
    full = {
        "channel": "wechat",
        "rules_applied": ["quiet_hours", "联系上限"],
        "detail": EDGE_DETAIL,
        "priority": 7,
        "complaint_id": "cp-1",
        "referral_id": "rf-é",
        "survey_id": "sv-1",
        "party": "customer",
    }
    return [
        # due: at now exactly, whole seconds, odd microseconds, the far future
        _row("fu-due-now", "open", ts(NOW)),
        _row("fu-due-1", "open", ts(at + timedelta(hours=1)), **full),
        _row("fu-due-2", "open", ts(at + timedelta(hours=2, microseconds=120000))),
        _row("fu-due-3", "open", ts(at + timedelta(days=3, microseconds=1)), priority=None),
        _row("fu-due-4", "open", ts(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))),
        _row(
            "fu-due-客户",
            "open",
            ts(at + timedelta(hours=4)),
            customer_id="客户-1",
            reason="生日祝福 🎂",
            advisor_id=None,
            department=None,
            doc={},  # a document with none of the optional keys
        ),
        # overdue: a microsecond before now, long ago
        _row("fu-late-1", "open", ts(NOW - timedelta(microseconds=1)), reason=None),
        _row("fu-late-2", "open", ts(datetime(1970, 1, 1, tzinfo=UTC)), **full),
        # done: with and without a satisfaction, one without a due time
        _row(
            "fu-done-1",
            "done",
            ts(at - timedelta(days=1)),
            done_at=ts(at - timedelta(hours=20)),
            outcome="reached",
            satisfaction=0,
            note="客户满意",
        ),
        _row(
            "fu-done-2",
            "done",
            None,
            done_at=ts(NOW - timedelta(hours=1, microseconds=999999)),
            outcome="wrong_number",
            satisfaction=None,
            **full,
        ),
        # skipped
        _row(
            "fu-skip-1",
            "skipped",
            ts(at),
            skip_reason="opted_out",
            skipped_at=ts(at),
            detail={"holiday": "中秋节", "why": 'opted out "all"'},
        ),
        # another dealership's follow-up never shows
        _row("fu-other", "open", ts(NOW + timedelta(hours=1)), dealership_id="other-4s"),
    ]


@pytest.fixture
def store(tmp_path: Path, postgres_dsn: str | None) -> Iterator[ReadStore]:
    found = ReadStore(
        LaokeSettings(
            data_dir=tmp_path / "data",
            store="postgres" if postgres_dsn else "sqlite",
            postgres_dsn=postgres_dsn or "postgresql://unused",
        )
    )
    with found.transaction() as tx:
        for row in _edge_rows():
            tx.put(FOLLOWUPS, row)
    yield found
    found.close()


def _by_models(
    store: ReadStore,
    status: FollowUpStatus,
    now: datetime,
    limit: int,
    dealership: str = DEALERSHIP,
) -> bytes:
    """The slow path: validated models serialised by pydantic (what the API used to send)."""
    items = followups(store, dealership, status, now, limit)
    page = FollowUpListPublic(
        dealership_id=dealership, status=status, as_of=now, count=len(items), items=items
    )
    return page.model_dump_json().encode()


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize(
    "now",
    [
        NOW,
        NOW + timedelta(microseconds=250),
        datetime(2026, 1, 20, 18, 0, 0, 500000, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 1, 20, 7, 0, tzinfo=timezone(timedelta(hours=-3))),
    ],
    ids=["utc", "utc-micro", "plus-8", "minus-3"],
)
def test_work_list_json_is_the_models_json(
    store: ReadStore, status: FollowUpStatus, now: datetime
) -> None:
    fast = followup_list_json(store, DEALERSHIP, status, now, 500)
    assert fast == _by_models(store, status, now, 500)
    assert FollowUpListPublic.model_validate_json(fast).count > 0


def test_work_list_json_keeps_the_page_limit(store: ReadStore) -> None:
    fast = followup_list_json(store, DEALERSHIP, "due", NOW, 2)
    assert fast == _by_models(store, "due", NOW, 2)
    assert FollowUpListPublic.model_validate_json(fast).count == 2


def test_an_empty_work_list_is_the_models_empty_list(store: ReadStore) -> None:
    fast = followup_list_json(store, "nobody-4s", "due", NOW, 500)
    assert fast == _by_models(store, "due", NOW, 500, dealership="nobody-4s")
    assert FollowUpListPublic.model_validate_json(fast).items == []


def test_public_ts_writes_a_stored_time_as_pydantic_writes_it() -> None:
    adapter: TypeAdapter[datetime] = TypeAdapter(datetime)
    rng = random.Random(7)
    moments = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        NOW,
        NOW.replace(microsecond=100000),
    ]
    moments += [
        datetime(2020, 1, 1, tzinfo=UTC)
        + timedelta(
            seconds=rng.randrange(10**9), microseconds=rng.choice([0, rng.randrange(10**6)])
        )
        for _ in range(2000)
    ]
    for moment in moments:
        stored = ts(moment)
        assert public_ts(stored) == adapter.dump_python(moment, mode="json"), stored
    # text not in `ts()`'s shape (written by hand, or by an older store) is parsed instead
    for other in ("2024-01-01T00:00:00Z", "2024-01-01T08:00:00.5+08:00", "2024-01-01T00:00:00"):
        expected = adapter.dump_python(datetime.fromisoformat(other), mode="json")
        assert public_ts(other) == expected
    assert public_ts(None) is None


async def test_the_api_answers_the_fast_path_with_the_documented_model(
    tmp_path: Path, postgres_dsn: str | None
) -> None:
    settings = LaokeSettings(
        data_dir=tmp_path / "data",
        store="postgres" if postgres_dsn else "sqlite",
        postgres_dsn=postgres_dsn or "postgresql://unused",
        auth="off",
    )
    service = ProjectionsService(settings, ManualClock(NOW))
    with service.store.transaction() as tx:
        for row in _edge_rows():
            tx.put(FOLLOWUPS, row)
    app = build_app(service)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            for status in STATUSES:
                response = await http.get(
                    "/v1/followups", params={"dealership_id": DEALERSHIP, "status": status}
                )
                assert response.status_code == 200
                assert response.headers["content-type"] == "application/json"
                assert response.content == _by_models(service.store, status, NOW, 500)
    finally:
        service.store.close()
    answer = app.openapi()["paths"]["/v1/followups"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/FollowUpListPublic"}
