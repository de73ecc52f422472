"""A person's export (`GET /v1/customers/{id}/export`) end to end on a real nats-server:
every event recorded under their ids (merged ids included) read back from RETENTION, with
the read models' view of them; and who may ask for it (keys with the privacy scope)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from projections_helpers import DEALERSHIP, Rig

from events import FollowUpDue
from laoke.auth import KeyStore
from laoke.http import build_http_app
from laoke.registry import entry
from laoke.streams import RETENTION

OTHER = "other-4s"
VIN = "LSGKB54E7LS123456"
PHONE, SECOND_PHONE, STRANGER = "13800138000", "13900139000", "13700137000"


async def retention_by_customer(rig: Rig) -> dict[str, list[tuple[int, str]]]:
    """Every message on RETENTION, read one by one with a plain client: (seq, event id) by
    the customer id its subject names."""
    last = (await rig.js.stream_info(RETENTION)).state.last_seq
    found: dict[str, list[tuple[int, str]]] = {}
    for seq in range(1, last + 1):
        message = await rig.js.get_msg(RETENTION, seq)
        assert message.subject is not None and message.data is not None
        customer_id = message.subject.split(".")[2]
        found.setdefault(customer_id, []).append((seq, json.loads(message.data)["event_id"]))
    return found


async def person_with_a_history(rig: Rig) -> tuple[str, str, list[dict[str, Any]]]:
    """A customer registered twice (two phones), merged by intake, with something of every
    kind; returns the survivor, the merged id and the inbound events sent about them."""
    first = await rig.send(
        "CustomerRegistered", phones=[PHONE], customer={"phone": PHONE, "external_id": "DMS-1"}
    )
    second = await rig.send(
        "CustomerRegistered",
        phones=[SECOND_PHONE],
        name="张伟 (service desk)",
        customer={"phone": SECOND_PHONE},
        consent={"marketing": False, "channels": ["phone"]},
    )
    sent = [first, second]
    ids = {await rig.customer_id(first), await rig.customer_id(second)}
    sent.append(await rig.send("ContactPreferenceChanged", customer={"phone": SECOND_PHONE}))
    sent.append(await rig.send("VehiclePurchased", customer={"phone": PHONE}))
    # One visit naming the second phone under the first's DMS number: intake merges them.
    sent.append(
        await rig.send(
            "CustomerVisited",
            note="prefers mornings",
            customer={"phone": SECOND_PHONE, "external_id": "DMS-1"},
        )
    )
    await rig.settled()
    survivor = await rig.customer_id(sent[-1])
    (merged,) = ids - {survivor}
    for event_type in ("ComplaintFiled", "ApologyIssued", "SurveyAnswered", "ReferralClaimed"):
        sent.append(await rig.send(event_type, customer={"phone": PHONE}))
    sent.append(
        await rig.send("ContactPreferenceChanged", opt_out=False, customer={"phone": PHONE})
    )
    await rig.decide(
        FollowUpDue,
        survivor,
        follow_up_id="fu-1",
        reason="purchase_call_7d",
        due_at=rig.clock.now() + timedelta(days=7),
        channel="phone",
    )
    await rig.settled()
    return survivor, merged, sent


async def test_the_export_holds_every_event_of_the_person(rig: Rig) -> None:
    survivor, merged, sent = await person_with_a_history(rig)
    # Someone else: their own events stay out; their claim naming our customer's phone as
    # the referrer is listed as a referral by them.
    stranger = await rig.send(
        "CustomerRegistered", phones=[STRANGER], name="陈静", customer={"phone": STRANGER}
    )
    await rig.send(
        "ReferralClaimed",
        referral_id="rf-stranger",
        customer={"phone": STRANGER},
        vin=None,
        referrer={
            "name": "张伟",
            "phone": SECOND_PHONE,
            "vehicle_model": "CT5",
            "vehicle_colour": "black",
        },
    )
    await rig.settled()

    body = await rig.get(f"/v1/customers/{merged}/export")

    assert body["customer_id"] == survivor and body["requested_id"] == merged
    assert body["customer_ids"] == [survivor, merged]
    on_stream = await retention_by_customer(rig)
    assert on_stream[survivor] and on_stream[merged]
    expected = sorted(on_stream[survivor] + on_stream[merged])
    exported = [(e["seq"], e["event"]["event_id"]) for e in body["events"]]
    assert exported == expected  # every one, in stream order, no other
    assert {e["event_id"] for e in sent} <= {event_id for _, event_id in exported}
    stranger_id = await rig.customer_id(stranger)
    assert not {i for _, i in on_stream[stranger_id]} & {i for _, i in exported}
    assert all(e["error"] is None for e in body["events"])
    registrations = [e["event"] for e in body["events"] if e["subject"].endswith("Registered")]
    assert {r["name"] for r in registrations} == {"张伟", "张伟 (service desk)"}
    assert registrations[0]["family"][0]["name"] == "李娜"
    notes = [e["event"].get("note") for e in body["events"] if e["subject"].endswith("Visited")]
    assert notes == ["prefers mornings"]

    # The read models' view of them, each part of it.
    assert body["profile"]["customer_id"] == survivor
    assert set(body["profile"]["phones"]) == {"+8613800138000", "+8613900139000"}
    assert len(body["timeline"]) == len(expected)
    assert {e["event_id"] for e in body["timeline"]} == {i for _, i in expected}
    assert [c["complaint_id"] for c in body["complaints"]] == ["CP-0001"]
    assert body["complaints"][0]["steps"]  # filed, apologised
    assert [f["follow_up_id"] for f in body["followups"]] == ["fu-1"]
    assert [r["referral_id"] for r in body["referrals"]] == ["rf-0001"]
    assert [r["referral_id"] for r in body["referred_by_them"]] == ["rf-stranger"]
    assert [(s["survey_id"], s["score"]) for s in body["surveys"]] == [("sv-0001", 9)]
    history = body["profile"]["consent"]["history"]
    consent_events = [
        e for e in sent if e["event_type"] in ("CustomerRegistered", "ContactPreferenceChanged")
    ]
    assert [h["event_id"] for h in history] == [e["event_id"] for e in consent_events]


async def test_an_unknown_customer_has_no_export(rig: Rig) -> None:
    answer = await rig.http.get("/v1/customers/nobody/export")
    assert answer.status_code == 404 and "nobody" in answer.json()["message"]


@dataclass
class Keys:
    http: httpx.AsyncClient
    privacy: str  # DEALERSHIP, privacy scope (and read)
    privacy_only: str  # DEALERSHIP, privacy scope, no read
    read_write: str  # DEALERSHIP, read and write, no privacy scope
    ops: str
    privacy_elsewhere: str  # OTHER, privacy scope

    async def export(self, key: str | None, customer_id: str) -> httpx.Response:
        headers = {"X-API-Key": key} if key else {}
        return await self.http.get(f"/v1/customers/{customer_id}/export", headers=headers)


@pytest.fixture
async def keys(rig: Rig) -> AsyncIterator[Keys]:
    settings = rig.settings.model_copy(update={"auth": "on"})
    store = KeyStore(settings)
    app = build_http_app([(entry("projections"), rig.projections)], store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://laoke") as http:
        yield Keys(
            http,
            privacy=store.create([DEALERSHIP], privacy=True)[1],
            privacy_only=store.create([DEALERSHIP], read=False, privacy=True)[1],
            read_write=store.create([DEALERSHIP], write=True)[1],
            ops=store.create([], read=False, ops=True)[1],
            privacy_elsewhere=store.create([OTHER], privacy=True)[1],
        )


async def test_only_a_privacy_key_of_the_customers_dealership_exports(rig: Rig, keys: Keys) -> None:
    ours = await rig.customer_id(await rig.send("CustomerRegistered"))
    theirs = await rig.customer_id(
        await rig.send("CustomerRegistered", dealership_id=OTHER, customer={"phone": PHONE})
    )
    for key in (None, "lk_nope_nope"):
        refused = await keys.export(key, ours)
        assert refused.status_code == 401 and refused.json()["message"]
    for key in (keys.read_write, keys.ops):  # whatever else they may do
        for customer_id in (ours, theirs, "nobody"):
            forbidden = await keys.export(key, customer_id)
            assert forbidden.status_code == 403, forbidden.text
            assert "privacy scope" in forbidden.json()["message"]
    # Another dealership's customer does not exist for a privacy key: 404, as unknown ids.
    for customer_id in (theirs, "nobody"):
        assert (await keys.export(keys.privacy, customer_id)).status_code == 404
    assert (await keys.export(keys.privacy_elsewhere, ours)).status_code == 404
    for key in (keys.privacy, keys.privacy_only):
        found = await keys.export(key, ours)
        assert found.status_code == 200, found.text
        assert found.json()["customer_id"] == ours and found.json()["events"]
    mine = await keys.export(keys.privacy_elsewhere, theirs)
    assert mine.status_code == 200 and mine.json()["dealership_id"] == OTHER
    # The scope adds the export and nothing else: without read, the profile is not found.
    profile = await keys.http.get(f"/v1/customers/{ours}", headers={"X-API-Key": keys.privacy_only})
    assert profile.status_code == 404
