"""Identity end to end (NATS → intake → RETENTION → projections → JSON): a car sold on keeps
two owners apart; a wrong merge undone gives each person their own history back."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from typing import Any

from projections_helpers import DEALERSHIP, Rig

from events import ComplaintResolved
from laoke.settings import LaokeSettings
from services.projections.compare import compare_dumps, describe
from services.projections.rebuild import rebuild
from services.projections.store import ReadStore

VIN = "LSGKB54E7LS123456"
A_PHONE, B_PHONE = "13800138000", "13900139000"


def _recorded_for(rig: Rig, event: dict[str, Any]) -> str:
    """The customer intake recorded the event under (before any later merge or split)."""
    found = rig.projections.store.query(
        "SELECT original_customer_id FROM timeline WHERE event_id = ?", (event["event_id"],)
    )
    return str(found[0][0])


async def _timeline(rig: Rig, customer_id: str) -> set[str]:
    body = await rig.get(f"/v1/customers/{customer_id}/timeline", limit=500)
    return {e["event_id"] for e in body["entries"]}


async def test_two_successive_owners_of_one_vin_stay_two_customers(rig: Rig) -> None:
    bought = await rig.send(
        "VehiclePurchased", customer={"phone": A_PHONE}, vin=VIN, occurred_at=rig.at(-24 * 700)
    )
    serviced = await rig.send(
        "ServiceCompleted", customer={"vin": VIN}, occurred_at=rig.at(-24 * 500)
    )
    resold = await rig.send(
        "VehiclePurchased",
        source="used-cars",
        customer={"phone": B_PHONE},
        vin=VIN,
        occurred_at=rig.at(-24 * 300),
    )
    later = await rig.send("ServiceCompleted", customer={"vin": VIN}, occurred_at=rig.at(-24))
    await rig.settled()
    first, second = _recorded_for(rig, bought), _recorded_for(rig, resold)
    assert first != second
    assert _recorded_for(rig, serviced) == first and _recorded_for(rig, later) == second

    by_vin = await rig.get("/v1/customers", vin=VIN, dealership_id=DEALERSHIP)
    assert [c["customer_id"] for c in by_vin["customers"]] == [second]
    vehicle = await rig.get(f"/v1/vehicles/{VIN.lower()}")
    assert vehicle["owner_id"] == second
    assert [o["customer_id"] for o in vehicle["owners"]] == [first, second]
    assert vehicle["owners"][0]["until"] == vehicle["owners"][1]["since"]
    assert [(s["event_id"], s["customer_id"]) for s in vehicle["services"]] == [
        (serviced["event_id"], first),
        (later["event_id"], second),
    ]
    old = await rig.get(f"/v1/customers/{first}")
    assert old["merged_into"] is None and A_PHONE[-8:] in old["phones"][0]
    assert serviced["event_id"] in await _timeline(rig, first)
    assert later["event_id"] not in await _timeline(rig, first)
    assert (await rig.get("/v1/vehicles/LSGKB54E7LS999999", expect=404))["message"]


async def test_a_merge_then_its_split_gives_each_their_own_history_back(rig: Rig) -> None:
    a = await rig.send("CustomerRegistered", phones=[A_PHONE], customer={"phone": A_PHONE},
                       occurred_at=rig.at(-24 * 400))  # fmt: skip
    b = await rig.send("CustomerRegistered", phones=[B_PHONE], customer={"phone": B_PHONE},
                       name="李娜", occurred_at=rig.at(-24 * 300))  # fmt: skip
    b_visit = await rig.send("CustomerVisited", customer={"phone": B_PHONE})
    b_opt_out = await rig.send(
        "ContactPreferenceChanged", customer={"phone": B_PHONE}, purposes=["marketing"]
    )
    a_id, b_id = _recorded_for(rig, a), _recorded_for(rig, b)
    before_a, before_b = await _timeline(rig, a_id), await _timeline(rig, b_id)

    await rig.send("CustomerRegistered", phones=[A_PHONE], customer={"phone": B_PHONE})
    merges = await rig.get("/v1/identity/merges", dealership_id=DEALERSHIP)
    (merge,) = merges["items"]
    assert (merge["survivor_id"], merge["merged_ids"], merge["split"]) == (a_id, [b_id], None)
    assert {(e["key_kind"], e["customer_id"]) for e in merge["evidence"]} == {
        ("phone", a_id),
        ("phone", b_id),
    }
    complaint = await rig.send(
        "ComplaintFiled", customer={"phone": B_PHONE}, complaint_id="CMP-B-1"
    )
    assert (await rig.get("/v1/complaints/CMP-B-1"))["customer_id"] == a_id, "merged then"
    merged_history = (await rig.get(f"/v1/customers/{a_id}"))["consent"]["history"]
    assert b_opt_out["event_id"] in {h["event_id"] for h in merged_history}

    await rig.send(
        "CustomerSplitRequested",
        customer={"phone": B_PHONE},
        merge_event_id=merge["merge_event_id"],
        requested_by="ops-007",
        reason="two people",
    )
    await rig.settled()

    restored = await rig.get(f"/v1/customers/{b_id}")
    assert restored["merged_into"] is None and restored["customer_id"] == b_id
    assert restored["name"] == "李娜"
    survivor = await rig.get(f"/v1/customers/{a_id}")
    assert b_id not in survivor["merged_ids"] and "+86" + B_PHONE not in survivor["phones"]
    assert {b["event_id"], b_visit["event_id"], complaint["event_id"]} <= await _timeline(rig, b_id)
    assert before_b <= await _timeline(rig, b_id)
    assert before_a <= await _timeline(rig, a_id)
    assert not (before_b & await _timeline(rig, a_id))
    assert (await rig.get("/v1/complaints/CMP-B-1"))["customer_id"] == b_id
    restored_history = {h["event_id"] for h in restored["consent"]["history"]}
    survivor_history = {h["event_id"] for h in survivor["consent"]["history"]}
    assert b_opt_out["event_id"] in restored_history - survivor_history, "B's opt-out is B's"
    by_phone = await rig.get("/v1/customers", phone=B_PHONE)
    assert [c["customer_id"] for c in by_phone["customers"]] == [b_id]
    later = await rig.send("CustomerVisited", customer={"phone": B_PHONE})
    assert _recorded_for(rig, later) == b_id

    listed = await rig.get("/v1/identity/merges", dealership_id=DEALERSHIP)
    split = listed["items"][0]["split"]
    assert (split["requested_by"], split["restored_ids"]) == ("ops-007", [b_id])


async def test_the_merge_list_is_newest_first_and_paged_by_cursor(rig: Rig) -> None:
    """Three merges, recorded in another order than their times: read one a page, each
    comes once, newest (by the merge's time) first, and the last page has no cursor."""
    survivors: dict[str, str] = {}
    for n, hours in enumerate((-10, -30, -20)):  # recorded in this order
        keep, join = f"1370013700{n}", f"1360013600{n}"
        kept = await rig.send("CustomerRegistered", phones=[keep], customer={"phone": keep},
                              occurred_at=rig.at(-24 * 100))  # fmt: skip
        await rig.send("CustomerRegistered", phones=[join], customer={"phone": join},
                       occurred_at=rig.at(-24 * 90))  # fmt: skip
        await rig.send("CustomerRegistered", phones=[keep], customer={"phone": join},
                       occurred_at=rig.at(hours))  # fmt: skip
        survivors[_recorded_for(rig, kept)] = rig.at(hours)
    await rig.settled()

    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(pages) < 5:
        params: dict[str, Any] = {"dealership_id": DEALERSHIP, "limit": 1}
        if cursor is not None:
            params["cursor"] = cursor
        pages.append(await rig.get("/v1/identity/merges", **params))
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            break
    assert [len(p["items"]) for p in pages] == [1, 1, 1]
    assert [p["next_cursor"] is None for p in pages] == [False, False, True]
    seen = [m for p in pages for m in p["items"]]
    assert len({m["merge_event_id"] for m in seen}) == 3, "each merge once"
    newest_first = sorted(survivors, key=lambda s: _when(survivors[s]), reverse=True)
    assert [m["survivor_id"] for m in seen] == newest_first
    whole = await rig.get("/v1/identity/merges", dealership_id=DEALERSHIP)
    assert [m["merge_event_id"] for m in whole["items"]] == [m["merge_event_id"] for m in seen]


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


async def _profile(rig: Rig, customer_id: str) -> tuple[dict[str, Any], str, str | None]:
    """A customer's counters, class, and last touchpoint's event as the API answers them."""
    body = await rig.get(f"/v1/customers/{customer_id}")
    touch = body["last_touchpoint"]
    return body["stats"], body["customer_class"], touch["event_id"] if touch else None


async def test_a_split_gives_the_restored_customer_what_its_events_added_while_merged(
    rig: Rig,
) -> None:
    a = await rig.send("CustomerRegistered", phones=[A_PHONE], customer={"phone": A_PHONE},
                       occurred_at=rig.at(-24 * 400))  # fmt: skip
    b = await rig.send("CustomerRegistered", phones=[B_PHONE], customer={"phone": B_PHONE},
                       occurred_at=rig.at(-24 * 300))  # fmt: skip
    a_visit = await rig.send(
        "CustomerVisited", customer={"phone": A_PHONE}, occurred_at=rig.at(-24 * 20)
    )
    a_id, b_id = _recorded_for(rig, a), _recorded_for(rig, b)
    # the wrong merge (B's phone with A's), then B's events, recorded under A
    await rig.send("CustomerRegistered", phones=[A_PHONE], customer={"phone": B_PHONE},
                   occurred_at=rig.at(-24 * 250))  # fmt: skip
    b_car = "LSGKB54E7LS654321"
    bought = await rig.send("VehiclePurchased", customer={"phone": B_PHONE}, vin=b_car,
                            price_cny=300_000, occurred_at=rig.at(-24 * 240))  # fmt: skip
    serviced = await rig.send("ServiceCompleted", customer={"phone": B_PHONE}, vin=b_car,
                              amount_cny=1500, occurred_at=rig.at(-24 * 10))  # fmt: skip
    b_visit = await rig.send(
        "CustomerVisited", customer={"phone": B_PHONE}, occurred_at=rig.at(-24 * 5)
    )
    filed = await rig.send("ComplaintFiled", customer={"phone": B_PHONE}, complaint_id="CMP-B-2",
                           occurred_at=rig.at(-24 * 30))  # fmt: skip
    for step in ("ApologyIssued", "ComplaintInvestigated"):
        await rig.send(step, customer={"phone": B_PHONE}, complaint_id="CMP-B-2")
    proposed = await rig.send("RemedyProposed", customer={"phone": B_PHONE},
                              complaint_id="CMP-B-2", amount_cny=500)  # fmt: skip
    await rig.decide(ComplaintResolved, a_id, complaint_id="CMP-B-2", within_sla=True,
                     resolved_at=rig.clock.now(), hours_to_resolution=4.0)  # fmt: skip
    b_events = (bought, serviced, b_visit, filed, proposed)
    assert {_recorded_for(rig, e) for e in b_events} == {a_id}, "merged then"
    merged, merged_class, merged_touch = await _profile(rig, a_id)
    assert (merged["spend_cny"], merged["visits"]) == (301_500, 2)
    assert merged_touch == b_visit["event_id"]
    assert merged_class == "meteor"  # B's big purchase, and no regular paid service since
    (merge,) = (await rig.get("/v1/identity/merges", dealership_id=DEALERSHIP))["items"]

    await rig.send(
        "CustomerSplitRequested",
        customer={"phone": B_PHONE},
        merge_event_id=merge["merge_event_id"],
        requested_by="ops-007",
        reason="two people",
    )
    await rig.settled()

    b_stats, b_class, b_touch = await _profile(rig, b_id)
    assert (b_stats["spend_cny"], b_stats["vehicle_purchases"]) == (301_500, 1)
    assert (b_stats["service_visits"], b_stats["visits"]) == (1, 1)
    assert (b_stats["complaints"], b_stats["open_complaints"]) == (1, 0)
    assert b_stats["remedies_paid_cny"] == 500
    assert b_stats["largest_purchase_cny"] == 300_000
    assert _when(b_stats["last_service_at"]) == _when(serviced["occurred_at"])
    assert b_touch == b_visit["event_id"]
    assert b_class == "meteor"
    a_stats, a_class, a_touch = await _profile(rig, a_id)
    assert (a_stats["spend_cny"], a_stats["vehicle_purchases"]) == (0, 0)
    assert (a_stats["service_visits"], a_stats["visits"]) == (0, 1)
    assert (a_stats["complaints"], a_stats["remedies_paid_cny"]) == (0, 0)
    assert a_stats["largest_purchase_cny"] == 0 and a_stats["last_service_at"] is None
    assert a_touch == a_visit["event_id"]
    assert a_class == "small_star"
    meteors = await rig.get("/v1/customers", dealership_id=DEALERSHIP, **{"class": "meteor"})
    assert [c["customer_id"] for c in meteors["items"]] == [b_id], "the stored class columns"
    # the car B bought while merged is B's: profile, owner, lookup, and its VIN-only events
    b_profile, a_profile = (
        await rig.get(f"/v1/customers/{b_id}"),
        await rig.get(f"/v1/customers/{a_id}"),
    )
    assert [v["vin"] for v in b_profile["vehicles"]] == [b_car]
    assert b_car not in [v["vin"] for v in a_profile["vehicles"]]
    assert (await rig.get(f"/v1/vehicles/{b_car}"))["owner_id"] == b_id
    by_vin = await rig.get("/v1/customers", vin=b_car, dealership_id=DEALERSHIP)
    assert [c["customer_id"] for c in by_vin["customers"]] == [b_id]
    later = await rig.send(
        "ServiceCompleted", customer={"vin": b_car}, vin=b_car, occurred_at=rig.at(-24)
    )
    assert _recorded_for(rig, later) == b_id, "intake: the VIN resolves to B"

    await rig.projections.stop()  # a rebuild from RETENTION gives the same read models
    live = _dump(rig.settings)
    await asyncio.to_thread(rebuild, rig.settings, progress=io.StringIO())
    differing = compare_dumps(live, _dump(rig.settings))
    assert not differing, describe(differing)
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


def _dump(settings: LaokeSettings) -> dict[str, list[tuple[object, ...]]]:
    store = ReadStore(settings)
    try:
        return store.dump(skip=lambda table: table == "positions")
    finally:
        store.close()
