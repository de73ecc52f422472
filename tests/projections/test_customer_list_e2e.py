"""The customer list end to end (`GET /v1/customers?dealership_id=…`): search by name, phone
fragment and plate, the class and neglect filters, cursor paging while customers arrive,
and the lookups by phone and VIN beside it. Plates come in on `CustomerRegistered` and
`VehiclePurchased` through intake on NATS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from projections_helpers import DEALERSHIP, Rig

from events import CustomersMerged
from events.factories import SAMPLE_PHONE, SAMPLE_VIN

DAY = 24.0  # hours
LI_PHONE, WANG_PHONE, ZHAO_PHONE = "13900139000", "13700137000", "13600136000"
LI_VIN = "LFV2A21K0A3000001"


async def customers(rig: Rig, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await rig.get("/v1/customers", dealership_id=DEALERSHIP, **params)
    return body


def names(body: dict[str, Any]) -> list[str]:
    return sorted(item["name"] for item in body["items"])


async def register(rig: Rig, name: str, phone: str, days: float, **fields: Any) -> str:
    sent = await rig.send(
        "CustomerRegistered",
        name=name,
        phones=[phone],
        customer={"phone": phone},
        occurred_at=rig.at(-days * DAY),
        **fields,
    )
    return await rig.customer_id(sent)


async def a_dealership(rig: Rig) -> dict[str, str]:
    """张伟: a plate of his own, a big purchase two years ago and paid service since, the
    last 10 days ago (gold: a year a customer, loyal; docs/projections.md). 李娜: a car
    with a plate bought 300 days ago and nothing since (neglected; a meteor). Wang Lei:
    registered yesterday (small star). 赵敏: three complaints and little spend (burden)."""
    zhang = await register(rig, "张伟", SAMPLE_PHONE, 800, plate="京A·12345")
    await rig.send("VehiclePurchased", occurred_at=rig.at(-730 * DAY))
    for n, days in enumerate((400, 205, 10)):
        await rig.send(
            "ServiceCompleted", repair_order_id=f"RO-Z{n}", occurred_at=rig.at(-days * DAY)
        )
    li = await register(rig, "李娜", LI_PHONE, 301)
    await rig.send(
        "VehiclePurchased",
        vin=LI_VIN,
        plate="粤b d12345",
        customer={"phone": LI_PHONE},
        occurred_at=rig.at(-300 * DAY),
    )
    wang = await register(rig, "Wang Lei", WANG_PHONE, 1)
    zhao = await register(rig, "赵敏", ZHAO_PHONE, 5)
    for n in range(3):
        await rig.send(
            "ComplaintFiled",
            complaint_id=f"CP-{n}",
            customer={"phone": ZHAO_PHONE},
            repair_order_id=None,
            vin=None,
            occurred_at=rig.at(-n),
        )
    return {"张伟": zhang, "李娜": li, "Wang Lei": wang, "赵敏": zhao}


async def test_search_by_name_phone_fragment_and_plate(rig: Rig) -> None:
    ids = await a_dealership(rig)
    assert names(await customers(rig)) == sorted(ids)
    for q, expected in (
        ("张", ["张伟"]),
        ("wang", ["Wang Lei"]),  # any case
        ("WANG L", ["Wang Lei"]),
        ("138-0013-8000", ["张伟"]),  # a phone however typed
        ("+86 139", ["李娜"]),
        ("0013", ["张伟", "李娜", "Wang Lei", "赵敏"]),  # a fragment anywhere in the number
        ("8000", ["张伟"]),
        ("京a 12345", ["张伟"]),  # the plate registered with the person
        ("粤B·D123", ["李娜"]),  # the plate of a car bought
        ("d1234", ["李娜"]),
        ("%", []),  # LIKE's wildcards are taken literally
        ("_", []),
        ("nobody", []),
        ("  ", list(ids)),  # blank: no search
    ):
        assert names(await customers(rig, q=q)) == sorted(expected), q

    li = (await customers(rig, q="粤BD12345"))["items"][0]
    assert li["customer_id"] == ids["李娜"]
    assert li["plates"] == ["粤BD12345"] and li["vins"] == [LI_VIN]
    assert li["phone"] == "+8613900139000" and li["phones"] == ["+8613900139000"]
    profile = await rig.get(f"/v1/customers/{ids['李娜']}")
    assert profile["plates"] == ["粤BD12345"]
    assert profile["vehicles"][0]["plate"] == "粤BD12345"
    zhang = (await customers(rig, q="张伟"))["items"][0]
    assert zhang["plates"] == ["京A12345"] and zhang["vins"] == [SAMPLE_VIN]

    for bad in ("", "x" * 65, "a\x00b"):
        answer = await rig.http.get("/v1/customers", params={"dealership_id": DEALERSHIP, "q": bad})
        assert answer.status_code == 422 and answer.json()["field"] == "q", bad


async def test_class_and_neglect_filters_agree_with_the_profiles(rig: Rig) -> None:
    ids = await a_dealership(rig)
    every = await customers(rig)
    classes = {item["name"]: item["customer_class"] for item in every["items"]}
    for name, customer_id in ids.items():
        profile = await rig.get(f"/v1/customers/{customer_id}")
        assert classes[name] == profile["customer_class"], name
    assert classes == {"张伟": "gold", "李娜": "meteor", "Wang Lei": "small_star", "赵敏": "burden"}
    for customer_class in ("gold", "meteor", "small_star", "burden"):
        listed = await customers(rig, **{"class": customer_class})
        assert names(listed) == [n for n, c in classes.items() if c == customer_class]
        assert listed["customer_class"] == customer_class
    assert names(await customers(rig, **{"class": "gold"}, q="李")) == []

    neglected = await customers(rig, neglected="true")
    assert names(neglected) == ["李娜"] and neglected["neglect_days"] == 180
    (li,) = neglected["items"]
    assert li["neglected"] is True and li["days_since_last_touchpoint"] == 300
    assert names(await customers(rig, neglected="false")) == sorted(set(ids) - {"李娜"})
    assert {item["neglected"] for item in every["items"] if item["name"] != "李娜"} == {False}
    # The window's edge: 180 whole days without a touchpoint is still in touch, 181 is not.
    rig.clock.advance(timedelta(days=170, hours=23))  # 张伟's last touchpoint: 180 days 23 h ago
    assert "张伟" not in names(await customers(rig, neglected="true"))
    rig.clock.advance(timedelta(hours=1))  # 181 days
    assert "张伟" in names(await customers(rig, neglected="true"))
    bad = await rig.http.get(
        "/v1/customers", params={"dealership_id": DEALERSHIP, "class": "silver"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "class"


async def test_pages_neither_repeat_nor_skip_while_customers_arrive(rig: Rig) -> None:
    for n in range(6):
        await register(rig, f"客户{n}", f"1350013500{n}", 1)
    first = await customers(rig, limit=4)
    assert first["count"] == 4 and first["next_cursor"]
    before = [item["customer_id"] for item in first["items"]]
    assert before == sorted(before)  # by customer id

    # Between two pages: new customers (their ids fall before or after the cursor), and a
    # listed one merged away.
    for n in range(6, 10):
        await register(rig, f"客户{n}", f"1350013500{n}", 0)
    survivor, merged = before[0], before[1]
    await rig.decide(
        CustomersMerged,
        survivor,
        survivor_id=survivor,
        merged_ids=[merged],
        because="same person (test)",
    )
    walked, cursor = list(before), first["next_cursor"]
    while cursor:
        page = await customers(rig, limit=4, cursor=cursor)
        walked += [item["customer_id"] for item in page["items"]]
        cursor = page["next_cursor"]
    now = [item["customer_id"] for item in (await customers(rig))["items"]]
    assert merged not in now and len(now) == 9
    assert walked == before + [c for c in now if c > before[-1]]
    assert set(now) - set(walked) == {c for c in now if c < before[-1]} - set(before)

    bad = await rig.http.get("/v1/customers", params={"dealership_id": DEALERSHIP, "cursor": "W10"})
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"


async def test_the_lookups_by_phone_and_vin_are_kept(rig: Rig) -> None:
    ids = await a_dealership(rig)
    by_phone = await rig.get("/v1/customers", phone="139 0013 9000")
    assert [c["customer_id"] for c in by_phone["customers"]] == [ids["李娜"]]
    by_vin = await rig.get("/v1/customers", vin=LI_VIN, dealership_id=DEALERSHIP)
    assert [c["customer_id"] for c in by_vin["customers"]] == [ids["李娜"]]
    mixed = await rig.get("/v1/customers", expect=422, phone=LI_PHONE, q="李")
    assert mixed["field"] == "q"
