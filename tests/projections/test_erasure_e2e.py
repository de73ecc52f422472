"""Crypto-shredding end to end on a real nats-server: what RETENTION holds of a customer is
sealed with their key, erasure destroys it (every merged id's too), the read models drop
the person, a rebuild gives the same tables, and the audit chain still verifies."""

from __future__ import annotations

import asyncio
import contextlib
import json

import nats
import pytest
from nats.js.errors import KeyNotFoundError, NotFoundError
from projections_helpers import DEALERSHIP, Rig
from test_projections_rebuild import dump
from waiting import wait_for

from events import inbound_subject
from events.factories import SAMPLE_VIN, sample_inbound
from laoke.keyring import Keyring, MasterKeyError
from laoke.streams import KEYS, RETENTION, RETENTION_DLQ
from services.intake.application import Inbound
from services.intake.service import IntakeService
from services.projections.audit import chain, raw_event
from services.projections.rebuild import rebuild

NAME, PHONE, SPOUSE, CHILD = "欧阳晓峰", "13912345678", "司马兰芳", "欧阳小宝"
SECOND_PHONE, THIRD_PHONE = "13787654321", "13655667788"
NOTE = "喜欢蓝色的车, 周末来店"
PERSONAL = [NAME, PHONE, SPOUSE, CHILD, SECOND_PHONE, THIRD_PHONE, NOTE, "12345678"]


async def raw_retention(rig: Rig) -> list[bytes]:
    """RETENTION's message bytes as a plain NATS client without any key reads them."""
    nc = await nats.connect(rig.settings.nats_url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(RETENTION)).state.last_seq
        return [bytes((await js.get_msg(RETENTION, seq)).data or b"") for seq in range(1, last + 1)]
    finally:
        await nc.close()


def letters(rig: Rig) -> int:
    return len(rig.projections.dead_letters.query("SELECT seq FROM dead_letters"))


async def dlq_bodies(rig: Rig) -> list[bytes]:
    last = (await rig.js.stream_info(RETENTION_DLQ)).state.last_seq
    found = []
    for seq in range(1, last + 1):
        with contextlib.suppress(NotFoundError):
            found.append(bytes((await rig.js.get_msg(RETENTION_DLQ, seq)).data or b""))
    return found


def readable(messages: list[bytes], texts: list[str]) -> list[str]:
    return [t for t in texts if any(t.encode() in m for m in messages)]


async def register_in_a_merge_chain(rig: Rig) -> list[str]:
    """A customer with a family and notes, and two other records merged into them."""
    first = await rig.send(
        "CustomerRegistered",
        occurred_at=rig.at(-30),
        customer={"phone": PHONE, "name": NAME},
        name=NAME,
        phones=[PHONE],
        family=[
            {"relation": "spouse", "name": SPOUSE, "birthday": "1988-03-02"},
            {"relation": "child", "name": CHILD, "birthday": "2015-07-09"},
        ],
    )
    await rig.send("CustomerVisited", customer={"phone": PHONE}, note=NOTE)
    await rig.send("ComplaintFiled", customer={"phone": PHONE}, description=NOTE)
    second = await rig.send("CustomerVisited", customer={"phone": SECOND_PHONE}, note=NOTE)
    third = await rig.send("CustomerVisited", customer={"phone": THIRD_PHONE})
    # ties the second and third, then the first and the second: one person, three records
    await rig.send(
        "CustomerRegistered",
        customer={"phone": THIRD_PHONE},
        name=NAME,
        phones=[SECOND_PHONE],
        family=[{"relation": "spouse", "name": SPOUSE, "birthday": "1988-03-02"}],
    )
    await rig.send(  # person evidence (a shared VIN only moves the car)
        "CustomerRegistered",
        customer={"phone": SECOND_PHONE},
        name=NAME,
        phones=[PHONE],
        family=[{"relation": "spouse", "name": SPOUSE, "birthday": "1988-03-02"}],
    )
    await rig.send("CustomerVisited", customer={"phone": PHONE, "vin": SAMPLE_VIN})
    await rig.send("ServiceCompleted", customer={"phone": SECOND_PHONE, "vin": SAMPLE_VIN})
    for phone in ("+86 139-1234-5678", "13000000001"):  # refused: the first names them
        bad = sample_inbound("CustomerVisited", customer={"phone": phone}, visit_kind="picnic")
        await rig.js.publish(
            inbound_subject(DEALERSHIP, "CustomerVisited"), json.dumps(bad).encode()
        )
    await wait_for(lambda: letters(rig) == 2)
    await rig.settled()
    return [recorded_for(rig, e) for e in (first, second, third)]


def recorded_for(rig: Rig, event: dict[str, object]) -> str:
    """The customer id intake recorded the event under (before any merge)."""
    found = rig.projections.store.query(
        "SELECT original_customer_id FROM timeline WHERE event_id = ?", (event["event_id"],)
    )
    return str(found[0][0])


async def test_erasure_shreds_the_customer_everywhere(rig: Rig) -> None:
    ids = await register_in_a_merge_chain(rig)
    assert readable(await raw_retention(rig), PERSONAL) == []  # sealed from the start
    profile = await rig.get(f"/v1/customers/{ids[0]}")  # the services read it decrypted
    assert profile["name"] == NAME and SPOUSE in {m["name"] for m in profile["family"]}
    survivor = profile["customer_id"]
    assert {survivor, *profile["merged_ids"]} == set(ids)
    lines = (await rig.http.get("/v1/audit", params={"dealership_id": DEALERSHIP})).text
    assert NAME in lines and SPOUSE in lines  # the audit reader opens the boxes

    await rig.send(
        "PersonalDataErasureRequested",
        customer={"phone": THIRD_PHONE},  # any of their numbers names them
        requested_by="dpo-01",
        request_ref="DSR-2026-0042",
    )
    await rig.settled()

    raw = await raw_retention(rig)
    assert readable(raw, PERSONAL) == []
    outbox = [m.body + str(m.headers).encode() for _, m in rig.intake.app.outbox_after(0, 10**6)]
    assert len(outbox) >= len(raw) and readable(outbox, PERSONAL) == [], "relayed: emptied"
    erased = [json.loads(m) for m in raw if b'"CustomerErased"' in m]
    assert len(erased) == 1 and set(erased[0]["erased_ids"]) == set(ids)
    kv = await rig.js.key_value(KEYS)
    for customer_id in ids:  # each key destroyed, its history with it
        with pytest.raises(KeyNotFoundError) as missing:
            await kv.get(customer_id)
        assert missing.value.op == "PURGE"

    await wait_for(lambda: letters(rig) == 1)  # the letter naming them is gone, the other not
    bodies = await dlq_bodies(rig)
    assert len(bodies) == 1 and b"13000000001" in bodies[0]
    await rig.get(f"/v1/customers/{survivor}", expect=404)
    for customer_id in ids:
        await rig.get(f"/v1/customers/{customer_id}", expect=404)
    for phone in (PHONE, SECOND_PHONE, THIRD_PHONE):
        await rig.get("/v1/customers", expect=404, phone=phone)
    await rig.get("/v1/customers", expect=404, vin=SAMPLE_VIN)
    found = await rig.get("/v1/customers", dealership_id=DEALERSHIP, q=NAME[:2])
    assert found["items"] == []
    live = dump(rig.settings)
    assert readable([json.dumps(live, ensure_ascii=False).encode()], PERSONAL) == []
    assert live["surveys"] == [] and len(live["purchases"]) == 1  # the counts stay

    audit = (await rig.http.get("/v1/audit", params={"dealership_id": DEALERSHIP})).content
    *events, trailer = audit.splitlines()
    previous = ""
    for line in events:
        previous = chain(previous, raw_event(line))
        assert previous == json.loads(line)["hash"]
    assert json.loads(trailer)["final_hash"] == previous
    assert readable([audit], PERSONAL) == []

    await rig.projections.stop()
    live = dump(rig.settings)
    await asyncio.to_thread(rebuild, rig.settings, progress=None)
    assert dump(rig.settings) == live
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


async def test_a_phone_erased_is_a_new_customer_next_time(rig: Rig) -> None:
    first = await rig.send("CustomerRegistered", customer={"phone": PHONE}, phones=[PHONE])
    await rig.send(
        "PersonalDataErasureRequested",
        customer={"phone": PHONE},
        requested_by="dpo-01",
        request_ref="DSR-1",
    )
    again = await rig.send("CustomerRegistered", customer={"phone": PHONE}, phones=[PHONE])
    assert await rig.customer_id(again) != await rig.customer_id(first)
    profile = await rig.get(f"/v1/customers/{await rig.customer_id(again)}")
    assert profile["phones"] == ["+86" + PHONE]


async def test_an_erasure_of_nobody_is_refused_and_dead_lettered(rig: Rig) -> None:
    event = sample_inbound("PersonalDataErasureRequested", customer={"phone": "13000000001"})
    [verdict] = await rig.intake.submit([Inbound(json.dumps(event).encode(), None, None, "t:1")])
    assert verdict.status == "rejected" and "no customer" in (verdict.message or "")


async def test_a_wrong_master_key_stops_the_start_with_nothing_written(rig: Rig) -> None:
    await rig.send("CustomerRegistered")
    before = (await rig.js.stream_info(RETENTION)).state.last_seq
    wrong = rig.settings.model_copy(
        update={
            "master_key": "d3JvbmctbWFzdGVyLWtleS13cm9uZy0zMi1ieXRlcyE=",
            "data_dir": rig.settings.data_dir / "other",
        }
    )
    other = IntakeService(wrong, rig.clock)
    with pytest.raises(MasterKeyError, match="LAOKE_MASTER_KEY"):
        await other.start()
    other.close()
    assert (await rig.js.stream_info(RETENTION)).state.last_seq == before
    with pytest.raises(MasterKeyError, match="LAOKE_MASTER_KEY"):
        Keyring.of(wrong.model_copy(update={"master_key": "too-short"}))


async def test_erasure_keeps_the_metrics_and_forgets_the_plates(rig: Rig) -> None:
    registered = await rig.send(
        "CustomerRegistered",
        customer={"phone": PHONE},
        name=NAME,
        phones=[PHONE],
        plate="京A·12345",
        occurred_at=rig.at(-100),
    )
    about = {"customer": {"phone": PHONE}}
    await rig.send("VehiclePurchased", **about, plate="粤B-D12345", occurred_at=rig.at(-99))
    await rig.send(
        "ServiceCompleted",
        **about,
        repair_order_id="RO-9",
        advisor_id="adv-9",
        occurred_at=rig.at(-90),
    )
    for i, (kind, score) in enumerate((("CSI", 9), ("CSI", 6), ("NPS", 10), ("NPS", 3))):
        await rig.send(
            "SurveyAnswered",
            **about,
            survey_id=f"sv-{i}",
            survey_kind=kind,
            score=score,
            about="RO-9",
            occurred_at=rig.at(-80 + i),
        )
    await rig.send(
        "ComplaintFiled",
        **about,
        complaint_id="CP-9",
        repair_order_id="RO-9",
        description=NOTE,
        occurred_at=rig.at(-50),
    )
    await rig.settled()
    customer_id = await rig.customer_id(registered)
    period = {"from": rig.at(-24 * 7), "to": rig.at(0)}

    async def metrics() -> list[object]:
        return [
            await rig.get("/v1/metrics/satisfaction", dealership_id=DEALERSHIP, **period),
            await rig.get(
                "/v1/metrics/satisfaction", dealership_id=DEALERSHIP, group_by="advisor", **period
            ),
        ]

    async def by_plate(plate: str) -> list[str]:
        found = await rig.get("/v1/customers", dealership_id=DEALERSHIP, q=plate)
        return [c["customer_id"] for c in found["items"]]

    before = await metrics()
    (advisor,) = [g for g in before[1]["groups"] if g["group"] == "adv-9"]  # type: ignore[index]
    assert (advisor["csi"], advisor["nps"]["count"]) == ({"count": 2, "mean": 7.5}, 2)
    assert advisor["complaints"]["total"] == 1
    plates = ["京A12345", "粤BD12345", "a12345"]  # as registered, as bought, a fragment
    assert [await by_plate(p) for p in plates] == [[customer_id]] * 3

    await rig.send(
        "PersonalDataErasureRequested", **about, requested_by="dpo-01", request_ref="DSR-7"
    )
    await rig.settled()

    assert await metrics() == before  # the counts stay, overall and by advisor
    assert [await by_plate(p) for p in plates] == [[]] * 3
    await rig.get(f"/v1/customers/{customer_id}", expect=404)


async def test_a_split_reason_goes_with_the_key_it_was_sealed_with(rig: Rig) -> None:
    reason = f"{NAME}和{SPOUSE}是两个人, 电话 {PHONE} 是{NAME}的"
    first = await rig.send(
        "CustomerRegistered", customer={"phone": PHONE}, name=NAME, phones=[PHONE]
    )
    second = await rig.send(
        "CustomerRegistered", customer={"phone": SECOND_PHONE}, name=SPOUSE, phones=[SECOND_PHONE]
    )
    await rig.send("CustomerRegistered", customer={"phone": SECOND_PHONE}, phones=[PHONE])
    (merge,) = (await rig.get("/v1/identity/merges", dealership_id=DEALERSHIP))["items"]
    ids = {recorded_for(rig, first): PHONE, recorded_for(rig, second): SECOND_PHONE}
    survivor_phone = ids[merge["survivor_id"]]  # whichever intake kept
    await rig.send(
        "CustomerSplitRequested",
        customer={"phone": PHONE},
        merge_event_id=merge["merge_event_id"],
        requested_by="ops-007",
        reason=reason,
    )
    await rig.settled()
    assert readable(await raw_retention(rig), [reason]) == []  # the request and the unmerge
    (merge,) = (await rig.get("/v1/identity/merges", dealership_id=DEALERSHIP))["items"]
    assert merge["split"]["reason"] == reason  # the services read it, opened

    await rig.send(  # the survivor, under whom the split was recorded (sealed with their key)
        "PersonalDataErasureRequested",
        customer={"phone": survivor_phone},
        requested_by="dpo-01",
        request_ref="DSR-8",
    )
    await rig.settled()

    (merge,) = (await rig.get("/v1/identity/merges", dealership_id=DEALERSHIP))["items"]
    assert merge["split"]["reason"] == "[sealed]" and merge["split"]["requested_by"] == "ops-007"
    live = dump(rig.settings)
    assert readable([json.dumps(live, ensure_ascii=False).encode()], [reason]) == []
    await rig.projections.stop()
    await asyncio.to_thread(rebuild, rig.settings, progress=None)
    assert dump(rig.settings) == live  # a replay without the key reads the same
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()
