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
from services.projections.queries.followups import (
    WorkList,
    decode_cursor,
    followup_list,
    followup_list_json,
    public_ts,
)
from services.projections.readmodels.context import new_customer_doc
from services.projections.service import ProjectionsService
from services.projections.settings import ClassThresholds
from services.projections.store import ReadStore
from services.projections.tables import CUSTOMERS, FOLLOWUPS, Row, ts

DEALERSHIP = "demo-4s"
NOW = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
STATUSES: tuple[FollowUpStatus, ...] = ("due", "upcoming", "overdue", "done", "skipped")
LIMITS = ClassThresholds()
VIN = "LSVAU2180N2183294"
EDGE_DETAIL = {
    "节日": "春节 🧧",
    "quote": 'say "hi" \\ back\nthen\ttab\x01\x1f\x7f',
    "separators": "\u2028\u2029</script>",
    "": "",
}


def _row(follow_up_id: str, status: str, due_at: str | None, **fields: Any) -> dict[str, Any]:
    doc = fields.pop("doc", None)
    channel = fields.get("channel", "phone")
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
        "channel": channel,
        "doc": doc
        if doc is not None
        else {
            "planned_at": ts(NOW),
            "outcome": None,
            "rules_applied": [],
            "detail": {},
            "channel": channel,
            "priority": 0,
            "survey_id": None,
            "complaint_id": None,
            "referral_id": None,
            "party": None,
            "source": "outreach",
            "vin": None,
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
        # due at now exactly; upcoming: whole seconds, odd microseconds, the far future
        _row("fu-due-now", "open", ts(NOW), vin=VIN),
        _row("fu-due-1", "open", ts(at + timedelta(hours=1)), **full),
        _row("fu-due-2", "open", ts(at + timedelta(hours=2, microseconds=120000))),
        _row("fu-due-3", "open", ts(at + timedelta(days=3, microseconds=1)), priority=None),
        _row("fu-due-4", "open", ts(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))),
        _row(
            "fu-due-客户",
            "open",
            ts(at + timedelta(hours=4)),
            customer_id="客户-1",  # no customer row: `customer` is null
            reason="生日祝福 🎂",
            advisor_id=None,
            department=None,
            doc={},  # a document with none of the optional keys
        ),
        # overdue: a microsecond before now, long ago; a vehicle the customer's record
        # does not hold (the model from the detail), one named only by the detail
        _row(
            "fu-late-1",
            "open",
            ts(NOW - timedelta(microseconds=1)),
            reason=None,
            customer_id="c-2",
            vin="LFV2A21K0A3000001",
            detail={"vin": "LFV2A21K0A3000001", "model": "速腾"},
        ),
        _row("fu-late-2", "open", ts(datetime(1970, 1, 1, tzinfo=UTC)), **full),
        _row("fu-late-3", "open", ts(at - timedelta(days=2)), detail={"vin": VIN}),
        # done: with and without a satisfaction
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
            ts(at - timedelta(days=1)),
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


def _customers() -> list[Row]:
    """c-1: a Chinese name, a first phone flagged as wrong, a car with a plate, big spend
    (gold); c-2: nothing known but the id."""
    doc = new_customer_doc(NOW - timedelta(days=400))
    doc.update(
        name='王小明 "明"',
        phones=["+8613800138000", "+8613900139000"],
        flagged_phones=["+8613800138000"],
        vehicles={VIN: {"vin": VIN, "model": "朗逸 Lavida", "plate": "京A·12345"}},
    )
    doc["stats"].update(
        spend_cny=320000.0,
        vehicle_spend_cny=320000.0,  # value (margin, 4 %) 12,800: gold from 12,000
        vehicle_purchases=2,
        largest_purchase_cny=160000.0,
        last_big_purchase_at=ts(NOW - timedelta(days=30)),
    )
    gold = {"customer_id": "c-1", "advisor_id": "adv-1", "last_touch_at": ts(NOW), "doc": doc}
    bare = {"customer_id": "c-2", "advisor_id": None, "last_touch_at": None}
    bare["doc"] = new_customer_doc(NOW)
    return [{"dealership_id": DEALERSHIP, "merged_into": None, **c} for c in (gold, bare)]


def _fill(store: ReadStore) -> None:
    with store.transaction() as tx:
        for row in _edge_rows():
            tx.put(FOLLOWUPS, row)
        for customer in _customers():
            tx.put(CUSTOMERS, customer)


@pytest.fixture
def store(tmp_path: Path, postgres_dsn: str | None) -> Iterator[ReadStore]:
    found = ReadStore(
        LaokeSettings(
            data_dir=tmp_path / "data",
            store="postgres" if postgres_dsn else "sqlite",
            postgres_dsn=postgres_dsn or "postgresql://unused",
        )
    )
    _fill(found)
    yield found
    found.close()


def _by_models(store: ReadStore, page: WorkList) -> bytes:
    """The slow path: validated models serialised by pydantic."""
    return followup_list(store, page, LIMITS).model_dump_json().encode()


def _page(status: FollowUpStatus, now: datetime = NOW, **more: Any) -> WorkList:
    return WorkList(DEALERSHIP, status, now, more.pop("limit", 500), **more)


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
    page = _page(status, now)
    fast = followup_list_json(store, page, LIMITS)
    assert fast == _by_models(store, page)
    assert FollowUpListPublic.model_validate_json(fast).count > 0


def test_the_customer_and_the_vehicle_on_each_item(store: ReadStore) -> None:
    answer = FollowUpListPublic.model_validate_json(followup_list_json(store, _page("due"), LIMITS))
    items = {item.follow_up_id: item for item in answer.items}
    assert list(items) == ["fu-late-2", "fu-late-3", "fu-late-1", "fu-due-now"]
    c1 = items["fu-due-now"].customer
    assert c1 is not None
    assert (c1.name, c1.phone, c1.customer_class) == ('王小明 "明"', "+8613900139000", "gold")
    known = items["fu-due-now"].vehicle
    assert known is not None and (known.vin, known.model, known.plate) == (
        VIN,
        "朗逸 Lavida",
        "京A·12345",
    )
    detail_only = items["fu-late-3"].vehicle  # an older row: the VIN only in its detail
    assert detail_only is not None and detail_only.plate == "京A·12345"
    elsewhere = items["fu-late-1"].vehicle
    assert elsewhere is not None and (elsewhere.model, elsewhere.plate) == ("速腾", None)
    c2 = items["fu-late-1"].customer
    assert c2 is not None and (c2.name, c2.phone, c2.customer_class) == (None, None, "small_star")
    assert items["fu-late-2"].vehicle is None
    assert [i.status for i in items.values()] == ["overdue", "overdue", "overdue", "due"]
    upcoming = followup_list(store, _page("upcoming"), LIMITS)
    assert "fu-due-客户" in [i.follow_up_id for i in upcoming.items]
    assert {i.status for i in upcoming.items} == {"upcoming"}
    assert next(i for i in upcoming.items if i.customer_id == "客户-1").customer is None


@pytest.mark.parametrize("status", STATUSES)
def test_pages_by_cursor_are_the_models_pages_and_the_whole_list(
    store: ReadStore, status: FollowUpStatus
) -> None:
    whole = followup_list(store, _page(status), LIMITS)
    seen: list[str] = []
    after = None
    while True:
        page = _page(status, limit=2, after=after)
        fast = followup_list_json(store, page, LIMITS)
        assert fast == _by_models(store, page)
        answer = FollowUpListPublic.model_validate_json(fast)
        seen += [i.follow_up_id for i in answer.items]
        if answer.next_cursor is None:
            break
        assert answer.count == 2
        after = decode_cursor(answer.next_cursor)
    assert seen == [i.follow_up_id for i in whole.items]
    assert whole.next_cursor is None


def test_filters_by_advisor_reason_and_channel(store: ReadStore) -> None:
    def ids(**filters: Any) -> list[str]:
        page = _page("upcoming", **filters)
        fast = followup_list_json(store, page, LIMITS)
        assert fast == _by_models(store, page)
        return [i.follow_up_id for i in FollowUpListPublic.model_validate_json(fast).items]

    everyone = ids()
    assert ids(advisor_id="adv-1") == [i for i in everyone if i != "fu-due-客户"]
    assert ids(reason="生日祝福 🎂") == ["fu-due-客户"]
    assert ids(channel="wechat") == ["fu-due-1"]
    assert ids(channel="wechat", reason="purchase_call_7d", advisor_id="adv-1") == ["fu-due-1"]
    assert ids(channel="sms") == []


def test_an_empty_work_list_is_the_models_empty_list(store: ReadStore) -> None:
    page = WorkList("nobody-4s", "due", NOW, 500)
    fast = followup_list_json(store, page, LIMITS)
    assert fast == _by_models(store, page)
    answer = FollowUpListPublic.model_validate_json(fast)
    assert answer.items == [] and answer.next_cursor is None


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
    _fill(service.store)
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
                assert response.content == _by_models(service.store, _page(status))
    finally:
        service.store.close()
    answer = app.openapi()["paths"]["/v1/followups"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/FollowUpListPublic"}
