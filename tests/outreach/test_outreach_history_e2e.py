"""A dealership's history import, then a live week, end to end on a real nats-server
(intake, outreach and projections in process, one ManualClock): the work list
(`status=due`) then holds exactly the live week's contacts whose time has come, none from
the history; a contact left open past its useful life ends with a recorded
`FollowUpExpired`, dated at its expiry, and moves to `status=expired`."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from waiting import wait_for

from events import (
    Event,
    FollowUpDue,
    FollowUpExpired,
    FollowUpSkipped,
    inbound_subject,
    parse_recorded,
)
from events.factories import sample_inbound
from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.sim import SimConfig, publish, simulate
from laoke.sim.config import CHINA
from laoke.streams import DEALER_IN, RETENTION
from services.intake.service import IntakeService
from services.outreach.service import OutreachService
from services.projections.api import build_app
from services.projections.application import CONSUMER
from services.projections.service import ProjectionsService

DEALERSHIP = "sim-01"
WINDOW_START = datetime(2026, 1, 5, tzinfo=CHINA)  # the simulated history ends here
# The import, 200 days on (a Monday, 10:00 local): every contact the history calls for,
# the service reminder of a car delivered just before the window included, is past its
# useful life by then; no Chinese holiday greeting falls in the week after it.
IMPORT = (WINDOW_START + timedelta(days=200, hours=10)).astimezone(UTC)
NEW_PHONE = "13700137999"
NEW_VIN = "LFV2A21K0A3999999"


class Dealership:
    """The services on one clock, the read API, and what RETENTION holds."""

    def __init__(self, settings: LaokeSettings, clock: ManualClock, js: JetStreamContext) -> None:
        self.clock = clock
        self.js = js
        self.intake = IntakeService(settings, clock)
        self.outreach = OutreachService(settings, clock)
        self.projections = ProjectionsService(settings, clock)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(self.projections)), base_url="http://t"
        )

    async def walk_to(self, at: datetime) -> None:
        """Live time: the clock moves on in steps of at most twelve hours, and the services
        keep up with each step (so the ticker fires each deadline on its day)."""
        while self.clock.now() < at:
            self.clock.set(min(at, self.clock.now() + timedelta(hours=12)))
            await self.settled()

    async def send(self, event_type: str, at: datetime, **fields: Any) -> str:
        """An inbound event from a live system, `at` a moment of the live week."""
        await self.walk_to(at)
        event = sample_inbound(
            event_type,
            event_id=str(uuid.uuid4()),
            dealership_id=DEALERSHIP,
            occurred_at=at.isoformat(),
            **fields,
        )
        await self.js.publish(
            inbound_subject(DEALERSHIP, event_type), json.dumps(event, ensure_ascii=False).encode()
        )
        return str(event["event_id"])

    async def settled(self) -> None:
        """Every consumer caught up, outreach's outbox relayed, and nothing new recorded
        over ten polls in a row (the ticker fires what the clock made due meanwhile)."""
        calm: list[int] = []

        async def quiet() -> bool:
            last = (await self.js.stream_info(RETENTION)).state.last_seq
            busy = self.projections.store.position(CONSUMER) != last
            for stream in (DEALER_IN, RETENTION):
                for info in await self.js.consumers_info(stream):
                    busy = busy or bool(info.num_pending or info.num_ack_pending)
            app = self.outreach.app
            busy = busy or app.unrelayed()
            if busy or (calm and calm[-1] != last):
                calm.clear()
                return False
            calm.append(last)
            return len(calm) >= 10

        await wait_for(quiet, timeout=60, what="the dealership to settle")

    async def recorded(self) -> list[Event]:
        last = (await self.js.stream_info(RETENTION)).state.last_seq
        return [
            parse_recorded((await self.js.get_msg(RETENTION, seq)).data or b"")
            for seq in range(1, last + 1)
        ]

    async def listed(self, status: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {"dealership_id": DEALERSHIP, "status": status, "limit": 50}
            response = await self.http.get(
                "/v1/followups", params=params | ({"cursor": cursor} if cursor else {})
            )
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                return items


@pytest.fixture
async def dealership(settings: LaokeSettings, js: JetStreamContext) -> AsyncIterator[Dealership]:
    running = Dealership(settings, ManualClock(IMPORT), js)
    for service in (running.intake, running.outreach, running.projections):
        await service.start()
    yield running
    await running.http.aclose()
    for service in (running.projections, running.outreach, running.intake):
        await service.stop()


def ours(events: list[Event], model: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, model) and e.source == "outreach"]


async def test_history_import_then_a_live_week(dealership: Dealership) -> None:
    simulation = simulate(
        SimConfig(customers=60, months=1, seed=11, start=WINDOW_START), now=IMPORT
    )
    history = [e for e in simulation.events if e.occurred_at < WINDOW_START]
    assert {e.event_type for e in history} >= {"VehiclePurchased", "VehicleDelivered"}
    await publish(dealership.js, history, window=500)
    await dealership.settled()

    owners = [json.loads(e.data) for e in history if e.event_type == "VehicleDelivered"]
    day = [IMPORT + timedelta(days=n) for n in range(11)]
    live: set[tuple[str, str]] = set()  # the live week's causes: (event id, contact reason)
    await dealership.send(
        "CustomerRegistered",
        day[0] + timedelta(minutes=20),
        phones=[NEW_PHONE],
        customer={"phone": NEW_PHONE},
        birthday=None,
        family=[],
    )
    purchased = day[0] + timedelta(minutes=30)
    cause = await dealership.send(
        "VehiclePurchased", purchased, vin=NEW_VIN, customer={"phone": NEW_PHONE}
    )
    live |= {(cause, "purchase_call_7d"), (cause, "purchase_call_3m")}
    for n, owner in ((1, owners[0]), (3, owners[1])):
        cause = await dealership.send(
            "ServiceCompleted",
            day[n] + timedelta(hours=4),
            repair_order_id=f"RO-LIVE-{n}",
            vin=owner["vin"],
            customer=owner["customer"],
        )
        live.add((cause, "survey_csi"))
    # handed over as bought: the purchase calls, counted from the delivery once it is known,
    # keep their times (docs/outreach.md "What is planned")
    delivered = purchased
    cause = await dealership.send(
        "VehicleDelivered",
        delivered,
        vin=NEW_VIN,
        delivered_at=delivered.isoformat(),
        customer={"phone": NEW_PHONE},
    )
    live.add((cause, "survey_ssi"))
    await dealership.walk_to(day[7] + timedelta(hours=2))  # the 7-day call's time has come
    now = dealership.clock.now()

    recorded = await dealership.recorded()
    history_ids = {e.event_id for e in history}
    planned = ours(recorded, FollowUpDue)
    skipped = ours(recorded, FollowUpSkipped)
    # The history called for contacts; each was past its useful life: skipped, not planned.
    stale = [s for s in skipped if s.skip_reason == "expired"]
    assert {s.reason for s in stale} >= {"purchase_call_7d", "purchase_call_3m", "survey_ssi"}
    assert {str(s.causation_id) for s in stale} <= history_ids
    assert not [p for p in planned if p.due_at < IMPORT], "a contact dated in the history"
    # The live events' contacts were planned, each with its useful life.
    causes = {cause for cause, _ in live}
    of_live = [p for p in planned if str(p.causation_id) in causes]
    assert {(str(p.causation_id), p.reason) for p in of_live} == live
    assert all(p.expires_at is not None and p.expires_at > now for p in of_live)

    due = await dealership.listed("due")
    over = {e.follow_up_id for e in ours(recorded, FollowUpExpired)}  # e.g. a greeting's day
    expected = {p.follow_up_id for p in planned if p.due_at <= now} - over
    assert {item["follow_up_id"] for item in due} == expected
    come = {p.follow_up_id for p in of_live if p.due_at <= now}
    assert {p.reason for p in of_live if p.follow_up_id in come} == {
        "purchase_call_7d",
        "survey_csi",
        "survey_ssi",
    }
    assert come <= expected
    for item in due:  # each of the live week, its time come, not yet past its life
        due_at = datetime.fromisoformat(item["due_at"])
        assert IMPORT <= due_at <= now
        assert item["expires_at"] is not None and datetime.fromisoformat(item["expires_at"]) > now
    assert [i["due_at"] for i in due] == sorted(i["due_at"] for i in due)  # oldest first

    # Left open past its life: the first survey (due on day 2) ends on day 10, recorded.
    first_csi = min((p for p in of_live if p.reason == "survey_csi"), key=lambda p: p.due_at)
    assert first_csi.expires_at is not None
    await dealership.walk_to(day[10] + timedelta(hours=2))
    ended = {e.follow_up_id: e for e in ours(await dealership.recorded(), FollowUpExpired)}
    expired = ended[first_csi.follow_up_id]
    assert expired.occurred_at == expired.expires_at == first_csi.expires_at
    assert expired.causation_id == first_csi.event_id
    still_due = {item["follow_up_id"] for item in await dealership.listed("due")}
    assert first_csi.follow_up_id not in still_due
    assert not set(ended) & still_due
    expired_list = {item["follow_up_id"]: item for item in await dealership.listed("expired")}
    assert set(expired_list) == set(ended)
    assert expired_list[first_csi.follow_up_id]["status"] == "expired"
