"""The retention limit end to end on a real nats-server (intake and projections, one
ManualClock): a prospect whose history was imported, last seen four years ago, is erased by
a recorded decision once the limit and the import's grace have passed, like any erasure
(key destroyed, read models and dead letters cleared); a buyer seen as long ago and a
prospect seen last year stay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from nats.js.errors import KeyNotFoundError
from projections_helpers import DEALERSHIP, Rig
from test_erasure_e2e import dlq_bodies, letters, raw_retention
from waiting import wait_for

from events import inbound_subject
from events.factories import sample_inbound
from laoke.streams import KEYS
from services.intake.retention import RECENT, SLACK

PROSPECT, BUYER, RECENT_PROSPECT = "13912345601", "13912345602", "13912345603"
YEAR_H = 365 * 24


async def test_the_retention_rule_erases_an_old_prospect_and_leaves_an_old_buyer(
    rig: Rig,
) -> None:
    registered = await rig.send(
        "CustomerRegistered",
        occurred_at=rig.at(-4.2 * YEAR_H),
        customer={"phone": PROSPECT},
        name="王小明",
        phones=[PROSPECT],
    )
    last_visit = await rig.send(
        "CustomerVisited", occurred_at=rig.at(-4 * YEAR_H), customer={"phone": PROSPECT}
    )
    await rig.send("CustomerVisited", occurred_at=rig.at(-6 * YEAR_H), customer={"phone": BUYER})
    await rig.send(
        "VehiclePurchased",
        occurred_at=rig.at(-5 * YEAR_H),
        customer={"phone": BUYER},
        vin="LSGKB54E7LS200001",
    )
    await rig.send(
        "CustomerVisited", occurred_at=rig.at(-1 * YEAR_H), customer={"phone": RECENT_PROSPECT}
    )
    bad = sample_inbound("CustomerVisited", customer={"phone": PROSPECT}, visit_kind="picnic")
    await rig.js.publish(inbound_subject(DEALERSHIP, "CustomerVisited"), json.dumps(bad).encode())
    await wait_for(lambda: letters(rig) == 1)
    prospect = await rig.customer_id(registered)
    await rig.get(f"/v1/customers/{prospect}")
    await rig.settled()

    rig.clock.advance(RECENT - timedelta(hours=1))  # an import is never erased at once
    [shard] = rig.intake.shards.values()
    first_due = shard.deadlines.next_due()
    assert first_due is not None and first_due > rig.clock.now(), "nothing is due yet"

    async def gone() -> bool:
        return (await rig.http.get(f"/v1/customers/{prospect}")).status_code == 404

    rig.clock.advance(SLACK + timedelta(hours=1))
    await wait_for(gone, what="the prospect erased")
    await rig.settled()

    raw = [json.loads(m) for m in await raw_retention(rig)]
    [erased] = [e for e in raw if e["event_type"] == "CustomerErased"]
    assert erased["erased_ids"] == [prospect] and erased["customer_id"] == prospect
    assert erased["requested_by"] == "retention-rule" and erased["request_ref"] == "retention:P3Y"
    assert erased["source"] == "intake"
    assert erased["causation_id"] == last_visit["event_id"], "caused by the latest touchpoint"
    kv = await rig.js.key_value(KEYS)
    with pytest.raises(KeyNotFoundError):
        await kv.get(prospect)
    await rig.get(f"/v1/customers/{prospect}", expect=404)
    await rig.get("/v1/customers", expect=404, phone=PROSPECT)
    await wait_for(lambda: letters(rig) == 0, what="the letter naming the prospect purged")
    assert await dlq_bodies(rig) == []

    for kept in (BUYER, RECENT_PROSPECT):
        [customer] = (await rig.get("/v1/customers", phone=kept))["customers"]
        assert customer["phones"] == ["+86" + kept] and "erased" not in customer
