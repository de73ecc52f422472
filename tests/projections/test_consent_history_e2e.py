"""Consent you can prove: every consent change (a registration's consent, each
`ContactPreferenceChanged`) on the profile with its time, source and event id, what it
covers spelled out; a merged id's changes move to the survivor; a rebuild gives the same."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from projections_helpers import Rig

from events.preferences import CHANNELS
from services.projections.queries.consents import consent_history
from services.projections.rebuild import rebuild
from services.projections.store import ReadStore

VIN = "LSGKB54E7LS123456"


async def test_every_consent_change_is_on_the_profile_and_survives_a_rebuild(rig: Rig) -> None:
    registered = await rig.send(
        "CustomerRegistered",
        occurred_at=rig.at(-48),
        source="showroom",
        consent={"marketing": True, "channels": ["phone", "wechat"]},
    )
    customer_id = await rig.customer_id(registered)
    sms_out = await rig.send(
        "ContactPreferenceChanged",
        occurred_at=rig.at(-24),
        source="call-center",
        opt_out=True,
        channels=["sms"],
        purposes=["marketing", "survey"],
    )
    all_out = await rig.send(
        "ContactPreferenceChanged", occurred_at=rig.at(-12), opt_out=True, channels=None
    )
    back_in = await rig.send(
        "ContactPreferenceChanged",
        occurred_at=rig.at(-6),
        source="wechat-mp",
        opt_out=False,
        channels=["wechat"],
    )

    history = (await rig.get(f"/v1/customers/{customer_id}"))["consent"]["history"]

    assert [h["event_id"] for h in history] == [
        registered["event_id"],
        sms_out["event_id"],
        all_out["event_id"],
        back_in["event_id"],
    ]
    assert [h["source"] for h in history] == ["showroom", "call-center", "dms", "wechat-mp"]
    assert [(h["given"], h["purposes"], h["channels"]) for h in history] == [
        (True, ["marketing"], ["phone", "wechat"]),
        (False, ["marketing", "survey"], ["sms"]),
        # No purposes, no channels: every purpose but an open complaint's, every channel.
        (False, ["marketing", "referral", "service", "survey"], sorted(CHANNELS)),
        (True, ["marketing", "referral", "service", "survey"], ["wechat"]),
    ]
    sent = [registered, sms_out, all_out, back_in]
    for entry, event in zip(history, sent, strict=True):
        assert entry["event_type"] == event["event_type"]
        assert entry["occurred_at"].replace("Z", "+00:00")[:19] == _utc(event["occurred_at"])
        assert entry["received_at"] is not None  # intake's receipt
        assert entry["recorded_for"] == customer_id


async def test_a_merged_ids_consent_changes_move_to_the_survivor(rig: Rig) -> None:
    first = await rig.send(
        "CustomerRegistered",
        occurred_at=rig.at(-10),
        phones=["13800138000"],
        customer={"phone": "13800138000", "external_id": "DMS-1"},
    )
    second = await rig.send(
        "CustomerRegistered",
        occurred_at=rig.at(-9),
        phones=["13900139000"],
        customer={"phone": "13900139000"},
        consent={"marketing": False, "channels": ["phone"]},
    )
    ids = {await rig.customer_id(first), await rig.customer_id(second)}
    withdrawn = await rig.send(
        "ContactPreferenceChanged", occurred_at=rig.at(-8), customer={"phone": "13900139000"}
    )
    await rig.send("VehiclePurchased", occurred_at=rig.at(-7), customer={"phone": "13800138000"})
    # The DMS names the second phone under the first's DMS number: one person (a merge).
    visit = await rig.send(
        "CustomerVisited", customer={"phone": "13900139000", "external_id": "DMS-1"}
    )
    await rig.settled()
    survivor = await rig.customer_id(visit)
    (merged,) = ids - {survivor}

    profile = await rig.get(f"/v1/customers/{merged}")
    assert profile["customer_id"] == survivor
    history = profile["consent"]["history"]
    assert [h["event_id"] for h in history] == [
        first["event_id"],
        second["event_id"],
        withdrawn["event_id"],
    ]
    assert {h["recorded_for"] for h in history} == ids
    assert [h["given"] for h in history] == [True, False, False]

    await rig.projections.stop()  # the rebuild swaps the store: the service must be stopped
    await asyncio.to_thread(rebuild, rig.settings, progress=None)
    store = ReadStore(rig.settings)
    try:
        rebuilt = [h.model_dump(mode="json") for h in consent_history(store, survivor)]
    finally:
        store.close()
    assert rebuilt == history
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


def _utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).isoformat()[:19]
