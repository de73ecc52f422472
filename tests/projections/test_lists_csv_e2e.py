"""`Accept: text/csv` on every list: read back with Python's `csv` module, the rows equal the
JSON items of all the pages (names in Chinese included), header first, UTF-8 with a BOM;
filters apply, a cursor starts the rows where the page would, `limit` only pages JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from projections_helpers import DEALERSHIP, Rig

from events import FollowUpDue, ReferralVerified

CSV_ROUTES = ("customers", "complaints", "followups", "referrals")
LISTS: dict[str, tuple[str, dict[str, Any]]] = {  # path, params: each list with a filter
    "followups": ("/v1/followups", {"status": "due"}),
    "complaints": ("/v1/complaints", {"status": "open"}),
    "customers": ("/v1/customers", {"q": "13500"}),  # not the referees
    "referrals": ("/v1/referrals", {}),
}
ID_OF = {
    "followups": "follow_up_id",
    "complaints": "complaint_id",
    "customers": "customer_id",
    "referrals": "referral_id",
}


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows read 2 at a time, so that a few rows make several chunks."""
    for name in CSV_ROUTES:
        monkeypatch.setattr(f"services.projections.routes.{name}.CSV_CHUNK", 2)


async def a_dealership(rig: Rig) -> None:
    names = ["张伟", "李娜", '王芳, "小芳"', "Zoë Ñandú", "刘洋\n(新)"]  # commas, quotes, lines
    for n, name in enumerate(names):
        phone = f"1350013500{n}"
        sent = await rig.send(
            "CustomerRegistered",
            name=name,
            phones=[phone],
            customer={"phone": phone},
            plate=f"京A1234{n}",
            occurred_at=rig.at(-100 - n),
        )
        customer_id = await rig.customer_id(sent)
        await rig.send(
            "ComplaintFiled",
            complaint_id=f"CP-{n}",
            description=f"{name}：等了三个小时，没有人通知。",
            customer={"phone": phone},
            vin=None,
            repair_order_id=None,
            occurred_at=rig.at(-50 + n),
        )
        await rig.decide(
            FollowUpDue,
            customer_id,
            follow_up_id=f"fu-{n}",
            reason="purchase_call_7d",
            channel="phone",
            due_at=rig.clock.now() - timedelta(hours=10 - n),
            detail={"vin": "LSGKB54E7LS123456", "备注": "春节前"},
        )
        claimed = await rig.send(
            "ReferralClaimed",
            referral_id=f"rf-{n}",
            customer={"phone": f"1370013700{n}"},
            vin=None,
            occurred_at=rig.at(-40 + n),
        )
        if n == 0:
            await rig.decide(
                ReferralVerified,
                await rig.customer_id(claimed),
                referral_id="rf-0",
                referrer_customer_id=customer_id,
            )


async def json_items(rig: Rig, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of the list, walking its JSON pages two at a time."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        extra = {"cursor": cursor} if cursor else {}
        body = await rig.get(path, dealership_id=DEALERSHIP, limit=2, **params, **extra)
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


async def csv_answer(rig: Rig, path: str, **params: Any) -> httpx.Response:
    response = await rig.http.get(
        path, params={"dealership_id": DEALERSHIP, **params}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200, response.text
    return response


def read_back(response: httpx.Response) -> tuple[list[str], list[dict[str, str]]]:
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def as_text(value: Any) -> str:
    """A JSON value as the contract says a cell holds it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def at(item: dict[str, Any], column: str) -> Any:
    value: Any = item
    for part in column.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def covers(header: list[str], item: dict[str, Any], prefix: str = "") -> None:
    """Every field of the JSON item has its column(s), and no column is of nothing."""
    for key, value in item.items():
        name = prefix + key
        nested = [c for c in header if c.startswith(name + ".")]
        if nested:
            if isinstance(value, dict):
                covers(header, value, name + ".")
            else:
                assert value is None, name  # a null object: its columns are empty
        else:
            assert name in header, name


@pytest.mark.parametrize("name", list(LISTS))
async def test_csv_rows_equal_the_json_items(rig: Rig, name: str) -> None:
    await a_dealership(rig)
    path, params = LISTS[name]
    items = await json_items(rig, path, **params)
    assert len(items) == 5

    response = await csv_answer(rig, path, limit=2, **params)  # `limit` pages JSON only
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    header, rows = read_back(response)
    assert len(header) == len(set(header))
    for item in items:
        covers(header, item)
    assert rows == [{column: as_text(at(item, column)) for column in header} for item in items]
    names = {at(item, "name") or at(item, "customer.name") for item in items}
    if name in ("customers", "followups"):
        assert '王芳, "小芳"' in names and "刘洋\n(新)" in names

    # From a cursor: the rows the pages after it hold.
    first = await rig.get(path, dealership_id=DEALERSHIP, limit=2, **params)
    _, rest = read_back(await csv_answer(rig, path, cursor=first["next_cursor"], **params))
    key = ID_OF[name]
    assert [row[key] for row in rest] == [item[key] for item in items[2:]]


async def test_filters_apply_and_an_empty_list_is_its_header(rig: Rig) -> None:
    await a_dealership(rig)
    _, rows = read_back(await csv_answer(rig, "/v1/referrals", status="verified"))
    assert [row["referral_id"] for row in rows] == ["rf-0"]
    assert rows[0]["claim.referrer.name"] == "王强"
    header, rows = read_back(await csv_answer(rig, "/v1/complaints", status="closed"))
    assert rows == [] and header[0] == "complaint_id"
    _, rows = read_back(await csv_answer(rig, "/v1/customers", q="李娜"))
    assert [row["name"] for row in rows] == ["李娜"] and rows[0]["plates"] == '["京A12341"]'
    _, rows = read_back(await csv_answer(rig, "/v1/followups", status="upcoming"))
    assert rows == []


async def test_errors_stay_json_under_accept_csv(rig: Rig) -> None:
    for path, params in (
        ("/v1/followups", {"cursor": "nope"}),
        ("/v1/complaints", {"status": "lost"}),
        ("/v1/customers", {}),  # no dealership
        ("/v1/referrals", {"dealership_id": "NOT VALID"}),
    ):
        answer = await rig.http.get(path, params=params, headers={"Accept": "text/csv"})
        assert answer.status_code == 422, path
        assert answer.headers["content-type"] == "application/json" and answer.json()["message"]
