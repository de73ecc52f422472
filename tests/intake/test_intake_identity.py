"""Identity resolution end to end: one person under many ids is one customer; ties merge."""

from __future__ import annotations

from uuid import UUID

from intake_support import inbound, publish, read_stream, wait_count
from nats.js import JetStreamContext

from events import CustomersMerged, VehicleOwnershipChanged, parse_recorded
from services.intake.rules import identity_key
from services.intake.service import IntakeService

VIN = "LSGKB54E7LS123456"


async def _customer_ids(js: JetStreamContext) -> list[str | None]:
    return [parse_recorded(m.data).customer_id for m in await read_stream(js, "RETENTION")]


async def test_phone_then_its_vin_alone_then_an_external_id_beside_the_phone_are_one_customer(
    intake: IntakeService, js: JetStreamContext
) -> None:
    await publish(js, inbound("CustomerVisited", customer={"phone": "138 0013 8000"}))
    await publish(js, inbound("VehiclePurchased", customer={"phone": "+86 138-0013-8000"}, vin=VIN))
    await publish(js, inbound("ServiceCompleted", source="workshop-dms", customer={"vin": VIN}))
    await publish(
        js,
        inbound(
            "CustomerVisited",
            source="workshop-dms",
            customer={"external_id": "W-77", "phone": "13800138000"},
        ),
    )
    await publish(
        js, inbound("CustomerVisited", source="workshop-dms", customer={"external_id": "W-77"})
    )
    await publish(js, inbound("CustomerVisited", customer={"phone": "8613800138000"}))
    await wait_count(js, "RETENTION", 6)
    assert len(set(await _customer_ids(js))) == 1


async def test_external_ids_are_scoped_by_source(
    intake: IntakeService, js: JetStreamContext
) -> None:
    await publish(js, inbound("CustomerVisited", source="dms", customer={"external_id": "42"}))
    await publish(js, inbound("CustomerVisited", source="showroom", customer={"external_id": "42"}))
    await wait_count(js, "RETENTION", 2)
    assert len(set(await _customer_ids(js))) == 2


async def test_an_event_tying_two_customers_merges_them_into_the_first_seen(
    intake: IntakeService, js: JetStreamContext
) -> None:
    first = inbound("CustomerVisited", customer={"phone": "13800138000"})
    second = inbound(
        "CustomerVisited",
        customer={"phone": "13900139000"},
        occurred_at="2025-04-01T10:00:00+08:00",
    )
    await publish(js, first)
    await publish(js, second)
    await wait_count(js, "RETENTION", 2)
    survivor, merged = await _customer_ids(js)
    assert survivor != merged

    tie = inbound("CustomerRegistered", customer={"phone": "13900139000"}, phones=["13800138000"])
    await publish(js, tie)
    await wait_count(js, "RETENTION", 4)

    recorded = [parse_recorded(m.data) for m in await read_stream(js, "RETENTION")]
    merges = [e for e in recorded if isinstance(e, CustomersMerged)]
    assert len(merges) == 1
    assert merges[0].survivor_id == survivor
    assert merges[0].merged_ids == [merged]
    assert merges[0].causation_id == UUID(tie["event_id"])
    secret = intake.keyring.identity_secret  # the evidence names keyed hashes, no phone
    assert [(e.key_kind, e.key, e.customer_id) for e in merges[0].evidence] == [
        ("phone", identity_key("phone", "+8613900139000", secret), merged),
        ("phone", identity_key("phone", "+8613800138000", secret), survivor),
    ]
    assert "13800138000" not in merges[0].because
    assert recorded.index(merges[0]) < len(recorded) - 1, "the merge precedes its cause"
    assert recorded[-1].customer_id == survivor

    # Later events under either old identity resolve to the survivor.
    await publish(js, inbound("CustomerVisited", customer={"phone": "13900139000"}))
    await publish(js, inbound("CustomerVisited", customer={"phone": "13800138000"}))
    await wait_count(js, "RETENTION", 6)
    assert (await _customer_ids(js))[-2:] == [survivor, survivor]


async def test_a_car_sold_on_changes_owner_and_never_merges_the_two_owners(
    intake: IntakeService, js: JetStreamContext
) -> None:
    first = inbound(
        "VehiclePurchased",
        customer={"phone": "13800138000"},
        vin=VIN,
        occurred_at="2024-01-10T10:00:00+08:00",
    )
    second = inbound(
        "VehiclePurchased",
        source="used-cars",
        customer={"phone": "13900139000"},
        vin=VIN,
        occurred_at="2025-06-01T10:00:00+08:00",
    )
    after = inbound(
        "ServiceCompleted", customer={"vin": VIN}, occurred_at="2025-09-01T10:00:00+08:00"
    )
    late = inbound(  # the first owner's service, sent only now: still the first owner's
        "ServiceCompleted", customer={"vin": VIN}, occurred_at="2024-12-01T10:00:00+08:00"
    )
    for event in (first, second, after, late):
        await publish(js, event)
    await wait_count(js, "RETENTION", 5)

    recorded = [parse_recorded(m.data) for m in await read_stream(js, "RETENTION")]
    assert not [e for e in recorded if isinstance(e, CustomersMerged)]
    changes = [e for e in recorded if isinstance(e, VehicleOwnershipChanged)]
    by_id = {str(e.event_id): e.customer_id for e in recorded}
    old, new = by_id[first["event_id"]], by_id[second["event_id"]]
    assert old != new
    assert [(c.vin, c.previous_owner_id, c.owner_id) for c in changes] == [(VIN, old, new)]
    assert changes[0].changed_at == recorded[2].occurred_at
    assert by_id[after["event_id"]] == new
    assert by_id[late["event_id"]] == old
