"""End to end on a real nats-server: intake and the workshop in-process, the read API over
ASGI. Inbound events go to `dealer.in.<d>.<Type>`; decisions are read back from RETENTION."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from nats.js import JetStreamContext
from waiting import wait_for
from workshop_helpers import DEALERSHIP

from events import inbound_subject
from events.factories import sample_inbound
from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.intake.service import IntakeService
from services.workshop.api import build_router
from services.workshop.service import WorkshopService

DISPATCH = ["rework", "emergency", "appointment", "waiting", "vip", "walk_in"]


class Rig:
    def __init__(self, js: JetStreamContext, clock: ManualClock, workshop: WorkshopService):
        self.js = js
        self.clock = clock
        self.workshop = workshop
        app = FastAPI()
        app.include_router(build_router(workshop))
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    def at(self, minutes: float) -> str:
        return (self.clock.now() + timedelta(minutes=minutes)).isoformat()

    async def send(self, event_type: str, **fields: Any) -> dict[str, Any]:
        event = sample_inbound(event_type, **fields)
        subject = inbound_subject(event["dealership_id"], event_type)
        await self.js.publish(subject, json.dumps(event).encode())
        return event

    async def check_in(self, ro: str, kind: str, minutes: float) -> None:
        n = ro.split("-")[-1].zfill(2)
        await self.send(
            "ServiceCheckedIn",
            repair_order_id=ro,
            arrival_kind=kind,
            occurred_at=self.at(minutes),
            vin=f"LSGKB54E7LS1234{n}",
            customer={"phone": f"138001380{n}"},
            advisor_id="adv-007",
        )

    async def recorded(self) -> list[dict[str, Any]]:
        info = await self.js.stream_info(RETENTION)
        found = []
        for seq in range(1, info.state.last_seq + 1):
            message = await self.js.get_msg(RETENTION, seq)
            found.append(json.loads(message.data or b"{}"))
        return found

    async def decisions(self, event_type: str, ro: str) -> list[dict[str, Any]]:
        return [
            e
            for e in await self.recorded()
            if e["event_type"] == event_type and e.get("repair_order_id") == ro
        ]

    async def queue(self) -> dict[str, Any]:
        response = await self.http.get("/v1/workshop/queue", params={"dealership_id": DEALERSHIP})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def queued(self, ro: str) -> bool:
        return await self.order(ro) is not None

    async def order(self, ro: str) -> dict[str, Any] | None:
        return next((o for o in (await self.queue())["orders"] if o["repair_order_id"] == ro), None)


@pytest.fixture
async def rig(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> AsyncIterator[Rig]:
    intake = IntakeService(settings, clock)
    workshop = WorkshopService(settings, clock)
    await intake.start()
    await workshop.start()
    rig = Rig(js, clock, workshop)
    try:
        yield rig
    finally:
        await rig.http.aclose()
        await workshop.stop()
        await intake.stop()


async def queue_ids(rig: Rig) -> list[str]:
    return [o["repair_order_id"] for o in (await rig.queue())["orders"]]


async def test_check_ins_in_random_order_are_queued_in_dispatch_order(rig: Rig) -> None:
    # Lower priority arrived earlier, so arrival time alone would give the reverse order.
    arrivals = [(f"RO-{i + 1}", kind, -10.0 * i) for i, kind in enumerate(DISPATCH)]
    seed = random.randrange(1_000_000)
    random.Random(seed).shuffle(arrivals)
    for ro, kind, minutes in arrivals:
        await rig.check_in(ro, kind, minutes)

    async def all_queued() -> bool:
        return len((await rig.queue())["orders"]) == len(DISPATCH)

    await wait_for(all_queued)
    body = await rig.queue()
    assert [o["arrival_kind"] for o in body["orders"]] == DISPATCH, f"seed {seed}"
    assert [o["position"] for o in body["orders"]] == [1, 2, 3, 4, 5, 6]
    walk_in = body["orders"][-1]
    assert walk_in["waiting_minutes"] == 50 and walk_in["on_hold"] is False
    rig.clock.advance(timedelta(minutes=15))
    assert (await rig.queue())["orders"][-1]["waiting_minutes"] == 65


async def test_scope_change_asks_for_a_contact_at_once_and_holds_the_order(rig: Rig) -> None:
    await rig.check_in("RO-1", "waiting", -30)
    await wait_for(lambda: rig.queued("RO-1"))
    change = await rig.send(
        "RepairScopeChanged",
        repair_order_id="RO-1",
        added_items=["front brake pads", "brake fluid"],
        extra_amount_cny=1450,
        occurred_at=rig.at(-5),
        customer={"phone": "13800138001"},
    )

    async def contacts() -> list[dict[str, Any]]:
        return [
            e
            for e in await rig.recorded()
            if e["event_type"] == "ContactRequested" and e["causation_id"] == change["event_id"]
        ]

    async def contact_recorded() -> bool:
        return bool(await contacts())

    await wait_for(contact_recorded)
    [contact] = await contacts()
    assert contact["reason"] == "scope_change_contact"
    assert contact["channels"] == ["phone"]  # outreach's contact rules plan the call
    assert contact["not_before"] == contact["occurred_at"]
    assert contact["detail"]["repair_order_id"] == "RO-1"
    order = await rig.order("RO-1")
    assert order is not None
    assert order["on_hold"] is True and order["state"] == "on_hold"
    assert order["pending_added_items"] == ["front brake pads", "brake fluid"]
    assert order["pending_extra_amount_cny"] == 1450


async def test_approval_resumes_and_completion_is_no_breach(rig: Rig) -> None:
    await rig.check_in("RO-2", "appointment", -30)
    await rig.send(
        "RepairScopeChanged",
        repair_order_id="RO-2",
        occurred_at=rig.at(-20),
        customer={"phone": "13800138002"},
    )

    async def on_hold() -> bool:
        order = await rig.order("RO-2")
        return order is not None and order["on_hold"]

    await wait_for(on_hold)
    await rig.send(
        "ScopeChangeApproved",
        repair_order_id="RO-2",
        occurred_at=rig.at(-10),
        customer={"phone": "13800138002"},
    )

    async def resumed() -> bool:
        order = await rig.order("RO-2")
        return order is not None and not order["on_hold"] and order["state"] == "open"

    await wait_for(resumed)
    await rig.send(
        "ServiceCompleted",
        repair_order_id="RO-2",
        occurred_at=rig.at(-1),
        vin="LSGKB54E7LS123402",
        customer={"phone": "13800138002"},
    )

    async def closed() -> bool:
        return await rig.order("RO-2") is None

    await wait_for(closed)
    assert await rig.decisions("ScopeChangeBreached", "RO-2") == []
    assert await rig.decisions("ComplaintRiskFlagged", "RO-2") == []


async def test_completion_without_approval_records_breach_and_risk_flag(rig: Rig) -> None:
    await rig.check_in("RO-3", "vip", -30)
    await rig.send(
        "RepairScopeChanged",
        repair_order_id="RO-3",
        occurred_at=rig.at(-20),
        customer={"phone": "13800138003"},
    )

    async def on_hold() -> bool:
        order = await rig.order("RO-3")
        return order is not None and order["on_hold"]

    await wait_for(on_hold)
    done = await rig.send(
        "ServiceCompleted",
        repair_order_id="RO-3",
        occurred_at=rig.at(-1),
        vin="LSGKB54E7LS123403",
        advisor_id="adv-003",
        customer={"phone": "13800138003"},
    )

    async def recorded_both() -> bool:
        return bool(await rig.decisions("ScopeChangeBreached", "RO-3")) and bool(
            await rig.decisions("ComplaintRiskFlagged", "RO-3")
        )

    await wait_for(recorded_both)
    [breach] = await rig.decisions("ScopeChangeBreached", "RO-3")
    [risk] = await rig.decisions("ComplaintRiskFlagged", "RO-3")
    assert breach["advisor_id"] == "adv-003"
    assert breach["causation_id"] == risk["causation_id"] == done["event_id"]
    assert risk["customer_id"] == breach["customer_id"]
    assert await rig.order("RO-3") is None
    response = await rig.http.get("/v1/workshop/breaches", params={"dealership_id": DEALERSHIP})
    assert response.json()["advisors"] == [
        {"advisor_id": "adv-003", "breaches": 1, "repair_order_ids": ["RO-3"]}
    ]


async def test_queue_survives_a_restart(
    rig: Rig, settings: LaokeSettings, clock: ManualClock
) -> None:
    await rig.check_in("RO-4", "walk_in", -10)
    await rig.check_in("RO-5", "rework", -5)

    async def both() -> bool:
        return await queue_ids(rig) == ["RO-5", "RO-4"]

    await wait_for(both)
    await rig.workshop.stop()
    rig.workshop = WorkshopService(settings, clock)  # the fixture stops this one
    await rig.workshop.start()
    # Straight from the rebuilt index, before anything new is consumed.
    assert [o.repair_order_id for o in rig.workshop.queue(DEALERSHIP)] == ["RO-5", "RO-4"]


@pytest.mark.parametrize("params", [{}, {"dealership_id": "Not Valid!"}], ids=["missing", "bad"])
async def test_queue_without_a_valid_dealership_is_422_naming_the_field(
    rig: Rig, params: dict[str, str]
) -> None:
    for path in ("/v1/workshop/queue", "/v1/workshop/breaches"):
        response = await rig.http.get(path, params=params)
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", "dealership_id"]
