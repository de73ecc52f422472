"""The call centre's work list end to end (`GET /v1/followups`): whom to call about which
vehicle, the filters, cursor paging while follow-ups keep arriving, and the API key rules.
Inbound events go through intake on NATS; decisions are recorded straight on RETENTION."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from projections_helpers import DEALERSHIP, Rig

from events import FollowUpDue, PhoneFlagged
from events.factories import SAMPLE_PHONE, SAMPLE_VIN
from laoke.auth import KeyStore
from laoke.http import build_http_app
from laoke.registry import entry
from services.projections.queries.followups import encode_cursor

OTHER_PHONE = "13900139000"
OTHER_VIN = "LFV2A21K0A3000001"


async def due(rig: Rig, customer_id: str, follow_up_id: str, hours: float, **fields: Any) -> None:
    """A follow-up due `hours` from now (a purchase call by phone unless told otherwise)."""
    fields.setdefault("reason", "purchase_call_7d")
    fields.setdefault("channel", "phone")
    await rig.decide(
        FollowUpDue,
        customer_id,
        follow_up_id=follow_up_id,
        due_at=rig.clock.now() + timedelta(hours=hours),
        **fields,
    )


async def page(rig: Rig, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await rig.get("/v1/followups", dealership_id=DEALERSHIP, **params)
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["follow_up_id"] for item in body["items"]]


async def test_each_item_names_the_customer_and_the_vehicle(rig: Rig) -> None:
    registered = await rig.send("CustomerRegistered", occurred_at=rig.at(-400))
    customer_id = await rig.customer_id(registered)
    await rig.send("VehiclePurchased", occurred_at=rig.at(-300), plate="京A·12345")
    await rig.send("ComplaintFiled", occurred_at=rig.at(-48))  # about SAMPLE_VIN
    await rig.send("CustomerRegistered", phones=[SAMPLE_PHONE, OTHER_PHONE])  # a second phone
    await rig.decide(PhoneFlagged, customer_id, phone=SAMPLE_PHONE, why="wrong_number")
    await due(rig, customer_id, "fu-car", -3, detail={"vin": SAMPLE_VIN, "model": "CT5"})
    await due(rig, customer_id, "fu-unknown-car", -2, detail={"vin": OTHER_VIN, "model": "速腾"})
    await due(rig, customer_id, "fu-complaint", -1, reason="complaint_callback",
              complaint_id="CP-0001")  # fmt: skip
    await due(rig, customer_id, "fu-retry", -0.5, reason="retry",
              detail={"retry_of": "fu-car", "attempt": "2"})  # fmt: skip
    await due(rig, customer_id, "fu-birthday", -0.25, reason="birthday_greeting", channel="sms")

    body = await page(rig, status="due")
    items = {item["follow_up_id"]: item for item in body["items"]}
    assert list(items) == ["fu-car", "fu-unknown-car", "fu-complaint", "fu-retry", "fu-birthday"]
    customer = items["fu-car"]["customer"]
    assert customer == {
        "customer_id": customer_id,
        "name": "张伟",
        "phone": "+8613900139000",  # the registered phone was flagged as a wrong number
        "customer_class": customer["customer_class"],
    }
    profile = await rig.get(f"/v1/customers/{customer_id}")
    assert customer["customer_class"] == profile["customer_class"]
    car = {"vin": SAMPLE_VIN, "model": "CT5", "plate": "京A12345"}  # the purchase's plate
    assert items["fu-car"]["vehicle"] == car
    assert items["fu-complaint"]["vehicle"] == car  # the complaint's vehicle
    assert items["fu-retry"]["vehicle"] == car  # the vehicle of the call it retries
    assert items["fu-unknown-car"]["vehicle"] == {"vin": OTHER_VIN, "model": "速腾", "plate": None}
    assert items["fu-birthday"]["vehicle"] is None  # about the customer, not a car
    assert items["fu-birthday"]["channel"] == "sms"
    assert {item["advisor_id"] for item in items.values()} == {"adv-001"}


async def test_filters_by_advisor_reason_and_channel(rig: Rig) -> None:
    mine = await rig.send("CustomerRegistered")
    theirs = await rig.send(
        "CustomerRegistered",
        phones=[OTHER_PHONE],
        customer={"phone": OTHER_PHONE},
        advisor_id="adv-009",
    )
    a, b = await rig.customer_id(mine), await rig.customer_id(theirs)
    await due(rig, a, "fu-1", -4)
    await due(rig, b, "fu-2", -3)
    await due(rig, a, "fu-3", -2, reason="service_reminder", channel="wechat")
    await due(rig, b, "fu-4", -1, reason="service_reminder", channel="phone")
    await due(rig, b, "fu-5", 5, reason="service_reminder", channel="wechat")

    assert ids(await page(rig)) == ["fu-1", "fu-2", "fu-3", "fu-4"]
    assert ids(await page(rig, advisor_id="adv-009")) == ["fu-2", "fu-4"]
    assert ids(await page(rig, reason="service_reminder")) == ["fu-3", "fu-4"]
    assert ids(await page(rig, channel="wechat")) == ["fu-3"]
    assert ids(await page(rig, channel="wechat", status="upcoming")) == ["fu-5"]
    both = await page(rig, advisor_id="adv-009", reason="service_reminder", channel="phone")
    assert ids(both) == ["fu-4"]
    assert ids(await page(rig, advisor_id="adv-404")) == []
    for name, value in (("reason", "cold_call"), ("channel", "pigeon"), ("advisor_id", "a b")):
        bad = await rig.http.get("/v1/followups", params={"dealership_id": DEALERSHIP, name: value})
        assert bad.status_code == 422 and bad.json()["field"] == name


async def test_cursor_pages_neither_repeat_nor_skip_while_items_arrive(rig: Rig) -> None:
    customer_id = await rig.customer_id(await rig.send("CustomerVisited"))
    for n, hours in enumerate((-10, -8, -6, -4, -2)):
        await due(rig, customer_id, f"fu-{n}", hours)
    first = await page(rig, limit=2)
    assert ids(first) == ["fu-0", "fu-1"] and first["next_cursor"]

    # Between the two requests: one item due after the cursor, one due before it, and the
    # clock moves so that an upcoming item's time comes.
    await due(rig, customer_id, "fu-later", -5)
    await due(rig, customer_id, "fu-earlier", -9)
    await due(rig, customer_id, "fu-soon", 1)
    rig.clock.advance(timedelta(hours=1, minutes=30))

    walked, cursor = ids(first), first["next_cursor"]
    while cursor:
        answer = await page(rig, limit=2, cursor=cursor)
        assert answer["count"] == len(answer["items"]) <= 2
        walked += ids(answer)
        cursor = answer["next_cursor"]
    # Keyset paging: what comes after the cursor is listed once, in order; `fu-earlier`
    # (due before the cursor) is on no page of this walk, and first on the next one.
    assert walked == ["fu-0", "fu-1", "fu-2", "fu-later", "fu-3", "fu-4", "fu-soon"]
    assert ids(await page(rig))[:3] == ["fu-0", "fu-earlier", "fu-1"]

    nul = encode_cursor("2026-01-20T10:00:00.000000Z", "fu-\x00")
    for cursor in ("nope", "e30", first["next_cursor"][:-3], nul):
        bad = await rig.http.get(
            "/v1/followups", params={"dealership_id": DEALERSHIP, "cursor": cursor}
        )
        assert bad.status_code == 422 and bad.json()["field"] == "cursor"


async def test_api_keys_decide_whose_work_list_is_read(rig: Rig) -> None:
    customer_id = await rig.customer_id(await rig.send("CustomerVisited"))
    await due(rig, customer_id, "fu-1", -1)
    settings = rig.settings.model_copy(update={"auth": "on"})
    keys = KeyStore(settings)
    app = build_http_app([(entry("projections"), rig.projections)], keys)
    own = keys.create([DEALERSHIP])[1]
    elsewhere = keys.create(["other-4s"])[1]
    both = keys.create([DEALERSHIP, "other-4s"])[1]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://laoke") as http:

        async def get(key: str | None, **params: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return await http.get("/v1/followups", params=params, headers=headers)

        assert (await get(None, dealership_id=DEALERSHIP)).status_code == 401
        assert (await get("lk_nope_nope", dealership_id=DEALERSHIP)).status_code == 401
        refused = await get(elsewhere, dealership_id=DEALERSHIP)
        assert refused.status_code == 403 and "message" in refused.json()
        named = await get(own, dealership_id=DEALERSHIP)
        assert named.status_code == 200 and ids(named.json()) == ["fu-1"]
        implied = await get(own)  # a one-dealership key: its own list
        assert implied.status_code == 200 and implied.json() == named.json()
        theirs = await get(elsewhere)
        assert theirs.json()["dealership_id"] == "other-4s" and theirs.json()["items"] == []
        unnamed = await get(both)  # which of the two? it must say
        assert unnamed.status_code == 422 and "dealership_id" in unnamed.json()["message"]
