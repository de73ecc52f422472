"""Customers end to end: inbound events on NATS → intake → RETENTION → projections → JSON."""

from __future__ import annotations

from projections_helpers import DEALERSHIP, Rig

VIN = "LSGKB54E7LS123456"


async def test_profile_class_advisor_and_last_touchpoint(rig: Rig) -> None:
    # Gold: a customer for two years, a big car, regular paid service (docs/projections.md).
    registered = await rig.send("CustomerRegistered", occurred_at=rig.at(-24 * 800))
    await rig.send("VehiclePurchased", occurred_at=rig.at(-24 * 730), price_cny=289900)
    for days in (400, 205):
        await rig.send(
            "ServiceCompleted",
            occurred_at=rig.at(-24 * days),
            amount_cny=860.5,
            repair_order_id=f"RO-{days}",
        )
    last = await rig.send(
        "ServiceCompleted", occurred_at=rig.at(-2), amount_cny=860.5, repair_order_id="RO-1"
    )
    customer_id = await rig.customer_id(registered)

    body = await rig.get(f"/v1/customers/{customer_id}")

    assert body["customer_id"] == customer_id
    assert body["name"] == "张伟"
    assert body["phones"] == ["+8613800138000"]
    assert body["advisor_id"] == "adv-001"
    assert body["family"][0]["relation"] == "spouse"
    assert body["consent"]["channels"] == ["phone", "wechat"]
    assert [v["vin"] for v in body["vehicles"]] == [VIN]
    assert body["stats"]["spend_cny"] == 289900 + 3 * 860.5
    assert body["customer_class"] == "gold"
    assert any("value" in reason for reason in body["classification"]["because"])
    assert body["classification"]["facts"]["value_cny"] == round(
        289900 * 0.04 + 3 * 860.5 * 0.45, 2
    )
    assert body["last_touchpoint"]["event_id"] == last["event_id"]
    assert body["last_touchpoint"]["event_type"] == "ServiceCompleted"


async def test_lookup_by_phone_in_any_format_and_by_vin(rig: Rig) -> None:
    registered = await rig.send("CustomerRegistered", phones=["138 0013 8000"])
    await rig.send("VehiclePurchased")
    customer_id = await rig.customer_id(registered)

    for phone in ("13800138000", "+86 138-0013-8000", "8613800138000", "(138) 0013 8000"):
        body = await rig.get("/v1/customers", phone=phone)
        assert [c["customer_id"] for c in body["customers"]] == [customer_id], phone
    by_vin = await rig.get("/v1/customers", vin=VIN.lower(), dealership_id=DEALERSHIP)
    assert [c["customer_id"] for c in by_vin["customers"]] == [customer_id]


async def test_unknown_ids_are_404_and_bad_parameters_422_naming_the_field(rig: Rig) -> None:
    missing = await rig.get("/v1/customers/nobody", expect=404)
    assert "nobody" in missing["message"]
    assert "message" in await rig.get("/v1/customers", expect=404, phone="13900000000")
    bad_phone = await rig.get("/v1/customers", expect=422, phone="not-a-phone")
    assert bad_phone["field"] == "phone" and "message" in bad_phone
    bad_vin = await rig.get("/v1/customers", expect=422, vin="short")
    assert bad_vin["field"] == "vin"
    both = await rig.get("/v1/customers", expect=422, phone="13900000000", vin=VIN)
    assert both["field"] == "phone"
    # Without phone or VIN it is the customer list, which is of one dealership: name it.
    assert (await rig.get("/v1/customers", expect=422))["field"] == "dealership_id"


async def test_merged_customer_answers_under_the_survivor(rig: Rig) -> None:
    first = await rig.send("CustomerRegistered", phones=["13800138000"], name="张伟")
    second = await rig.send(
        "CustomerRegistered",
        phones=["13900139000"],
        name="张伟 (service desk)",
        customer={"phone": "13900139000"},
    )
    first_id, second_id = await rig.customer_id(first), await rig.customer_id(second)
    assert first_id != second_id
    # One registration naming both phones: intake merges them (CustomersMerged first).
    visit = await rig.send(
        "CustomerRegistered", phones=["13800138000"], customer={"phone": "13900139000"}
    )
    await rig.settled()
    survivor = await rig.customer_id(visit)

    merged_id = first_id if survivor == second_id else second_id
    old = await rig.get(f"/v1/customers/{merged_id}")
    assert old["merged_into"] == survivor
    assert old["customer_id"] == survivor and old["requested_id"] == merged_id
    current = await rig.get(f"/v1/customers/{survivor}")
    assert current["merged_into"] is None
    assert merged_id in current["merged_ids"]
    assert set(current["phones"]) == {"+8613800138000", "+8613900139000"}
    timeline = await rig.get(f"/v1/customers/{merged_id}/timeline")
    ids = {e["event_id"] for e in timeline["entries"]}
    assert {first["event_id"], second["event_id"], visit["event_id"]} <= ids
