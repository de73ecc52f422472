"""End to end on a real nats-server: every contact through outreach's contact gate.

Intake, complaints, outreach, referrals and projections run in-process on one ManualClock
(at the events' own time, so nothing is backdated unless a test makes it so):
- a call-back after a remedy accepted at 22:40 is due at 09:00, not at 22:40;
- a customer opted out of every purpose (complaint named) gets no call-back, and the
  complaint closes as such; an opt-out naming no purpose does not stop the call-back;
- a failed call (and a preference change) leaves the neglect clock where it was;
- a referral claim dated before the delivery but received after it is rejected.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from nats.js import JetStreamContext
from waiting import wait_for

from events import Event, backdated, inbound_subject, parse_recorded
from events.factories import sample_inbound
from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.streams import DEALER_IN, RETENTION
from services.complaints.service import ComplaintsService
from services.intake.service import IntakeService
from services.outreach.aggregates import ContactPlan, plan_id
from services.outreach.service import OutreachService
from services.projections.api import build_app
from services.projections.application import CONSUMER
from services.projections.service import ProjectionsService
from services.referrals.service import ReferralsService

SH = ZoneInfo("Asia/Shanghai")
DEALER = "demo-4s"
ALL_PURPOSES = ["service", "survey", "marketing", "complaint", "referral"]


class Dealership:
    """The services of one laoke, a dealership system sending events, and RETENTION read."""

    def __init__(self, settings: LaokeSettings, clock: ManualClock, js: JetStreamContext) -> None:
        self.clock, self.js = clock, js
        self.intake = IntakeService(settings, clock)
        self.outreach = OutreachService(settings, clock)
        self.services = [
            self.intake,
            ComplaintsService(settings, clock),
            self.outreach,
            ReferralsService(settings, clock),
        ]
        self.projections = ProjectionsService(settings, clock)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_app(self.projections)), base_url="http://t"
        )

    async def start(self) -> None:
        for service in (*self.services, self.projections):
            await service.start()

    async def stop(self) -> None:
        await self.http.aclose()
        for service in reversed((*self.services, self.projections)):
            await service.stop()

    async def send(self, event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
        """Publish an inbound event that happened at `at`, the clock moved there first."""
        self.clock.set(max(self.clock.now(), at))
        body = sample_inbound(
            event_type, event_id=str(uuid.uuid4()), occurred_at=at.isoformat(), **fields
        )
        await self.js.publish(inbound_subject(DEALER, event_type), json.dumps(body).encode())
        return body

    async def recorded(self) -> list[Event]:
        info = await self.js.stream_info(RETENTION)
        return [
            parse_recorded((await self.js.get_msg(RETENTION, seq)).data or b"")
            for seq in range(1, info.state.last_seq + 1)
        ]

    async def wait(self, event_type: str, **where: Any) -> Any:
        async def found() -> Any:
            for event in await self.recorded():
                if event.event_type == event_type and all(
                    getattr(event, k) == v for k, v in where.items()
                ):
                    return event
            return None

        return await wait_for(found, what=f"{event_type} {where}")

    async def settled(self) -> None:
        """Intake recorded everything sent, every service handled everything on RETENTION
        (and projections applied it)."""
        sent = (await self.js.stream_info(DEALER_IN)).state.last_seq
        await wait_for(lambda: self.intake.app.tracked_position("intake") >= sent)
        await self.intake.flush()
        for _ in range(2):  # decisions made while waiting land on RETENTION too
            last = (await self.js.stream_info(RETENTION)).state.last_seq
            await wait_for(lambda last=last: self.positions() >= last)

    def positions(self) -> int:
        """The least RETENTION position any consuming service has handled."""
        handled = [self.projections.store.position(CONSUMER)]
        for service in self.services[1:]:
            durable = service.consumer.durable  # type: ignore[attr-defined]
            handled.append(service.app.tracked_position(durable))  # type: ignore[attr-defined]
        return min(handled)

    def plan(self, customer_id: str) -> ContactPlan:
        """Outreach's contact plan of the customer, as stored."""
        found = self.outreach.app.get_or_none(plan_id(DEALER, customer_id))
        assert isinstance(found, ContactPlan)
        return found

    async def complaint_resolved_at(
        self, phone: str, complaint_id: str, accepted: datetime
    ) -> None:
        """A complaint through steps 1-5, the remedy accepted at `accepted`."""
        who = {"phone": phone}
        start = accepted - timedelta(hours=3)
        steps = [
            ("ComplaintFiled", start),
            ("ApologyIssued", start + timedelta(minutes=20)),
            ("ComplaintInvestigated", start + timedelta(hours=1)),
            ("RemedyProposed", start + timedelta(hours=2)),
            ("RemedyAccepted", accepted),
        ]
        for event_type, at in steps:
            extra = {"vin": None} if event_type == "ComplaintFiled" else {}  # a VIN is a person
            await self.send(event_type, at, customer=who, complaint_id=complaint_id, **extra)


@pytest.fixture
async def dealership(settings: LaokeSettings, js: JetStreamContext) -> AsyncIterator[Dealership]:
    running = Dealership(settings, ManualClock(datetime(2026, 1, 20, 1, 0, tzinfo=UTC)), js)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=SH)


async def test_a_callback_after_a_remedy_accepted_at_22_40_is_due_at_09_00(
    dealership: Dealership,
) -> None:
    await dealership.complaint_resolved_at("13800138001", "CP-LATE", local(20, 22, 40))
    request = await dealership.wait("ContactRequested", complaint_id="CP-LATE")
    assert request.not_before.astimezone(SH) == local(23, 22, 40)  # 3 days after, as asked
    due = await dealership.wait("FollowUpDue", follow_up_id=request.follow_up_id)
    assert due.source == "outreach" and due.reason == "complaint_callback"
    assert due.due_at.astimezone(SH) == local(24, 9, 0)  # out of quiet hours (21:00-09:00)
    assert "quiet_hours:moved" in due.rules_applied
    assert due.causation_id == request.event_id and due.complaint_id == "CP-LATE"


async def test_an_opted_out_customer_gets_no_callback_and_the_complaint_closes_as_such(
    dealership: Dealership,
) -> None:
    everything, unnamed = {"phone": "13800138002"}, {"phone": "13800138003"}
    opt_out = local(20, 11)
    await dealership.send("ContactPreferenceChanged", opt_out, customer=everything,
                          opt_out=True, channels=None, purposes=ALL_PURPOSES)  # fmt: skip
    await dealership.send("ContactPreferenceChanged", opt_out, customer=unnamed,
                          opt_out=True, channels=None)  # fmt: skip
    await dealership.complaint_resolved_at(everything["phone"], "CP-OUT", local(20, 16))
    await dealership.complaint_resolved_at(unnamed["phone"], "CP-UNNAMED", local(20, 16))

    closed = await dealership.wait("ComplaintClosed", complaint_id="CP-OUT")
    assert (closed.outcome, closed.satisfaction) == ("opted_out", None)
    request = await dealership.wait("ContactRequested", complaint_id="CP-OUT")
    skipped = await dealership.wait("FollowUpSkipped", follow_up_id=request.follow_up_id)
    assert skipped.skip_reason == "opted_out" and skipped.complaint_id == "CP-OUT"
    assert closed.causation_id == skipped.event_id
    # an opt-out that names no purpose leaves an open complaint's steps alone
    other = await dealership.wait("ContactRequested", complaint_id="CP-UNNAMED")
    await dealership.wait("FollowUpDue", follow_up_id=other.follow_up_id)
    await dealership.settled()
    recorded = await dealership.recorded()
    assert not [
        e
        for e in recorded
        if e.event_type == "FollowUpDue" and e.follow_up_id == request.follow_up_id  # type: ignore[attr-defined]
    ]
    assert not [
        e
        for e in recorded
        if e.event_type == "ComplaintClosed" and e.complaint_id == "CP-UNNAMED"  # type: ignore[attr-defined]
    ]
    shown = await dealership.http.get("/v1/complaints/CP-OUT", params={"dealership_id": DEALER})
    assert shown.status_code == 200, shown.text
    assert shown.json()["step"] == 6 and shown.json()["callback_outcome"] == "opted_out"


async def test_a_failed_call_leaves_the_neglect_clock_where_it_was(
    dealership: Dealership,
) -> None:
    who = {"phone": "13800138004"}
    visit = await dealership.send("CustomerVisited", local(20, 10), customer=who,
                                  visit_kind="showroom")  # fmt: skip
    await dealership.settled()
    customer_id = await dealership.wait("CustomerVisited", event_id=uuid.UUID(visit["event_id"]))
    customer_id = customer_id.customer_id
    plan = dealership.plan(customer_id)
    reengage = plan.deadlines["reengage"]
    assert plan.last_touchpoint == local(20, 10)

    for outcome in ("no_answer", "wrong_number"):
        await dealership.send("FollowUpCompleted", local(21, 10), customer=who,
                              follow_up_id="fu-x", outcome=outcome, satisfaction=None)  # fmt: skip
    await dealership.send("ContactPreferenceChanged", local(21, 11), customer=who,
                          opt_out=True, channels=["sms"])  # fmt: skip
    await dealership.settled()
    plan = dealership.plan(customer_id)
    assert plan.last_touchpoint == local(20, 10)
    assert plan.deadlines["reengage"] == reengage  # the neglect clock did not move
    profile = await dealership.http.get(f"/v1/customers/{customer_id}")
    assert profile.status_code == 200, profile.text
    last = profile.json()["last_touchpoint"]
    assert last["event_type"] == "CustomerVisited"
    assert datetime.fromisoformat(last["at"]) == local(20, 10)

    # the control: a call that reached the customer is a touchpoint
    await dealership.send("FollowUpCompleted", local(22, 10), customer=who,
                          follow_up_id="fu-y", outcome="reached", satisfaction=8)  # fmt: skip
    await dealership.settled()
    plan = dealership.plan(customer_id)
    assert plan.last_touchpoint == local(22, 10)
    assert plan.deadlines["reengage"] != reengage


async def test_a_backdated_referral_claim_received_after_the_delivery_is_rejected(
    dealership: Dealership,
) -> None:
    referrer, referee = {"phone": "13900139000"}, {"phone": "13900139001"}
    referrer_vin, referee_vin = "LSGKB54E7LS111111", "LSGKB54E7LS222222"
    await dealership.send("CustomerRegistered", local(20, 9, 5), customer=referrer,
                          phones=[referrer["phone"]], name="王强")  # fmt: skip
    await dealership.send("VehiclePurchased", local(20, 9, 10), customer=referrer,
                          vin=referrer_vin, model="Jetta", colour="black")  # fmt: skip
    await dealership.send("VehicleDelivered", local(20, 9, 20), customer=referrer,
                          vin=referrer_vin, delivered_at=local(20, 9, 20).isoformat())  # fmt: skip
    await dealership.send("CustomerRegistered", local(20, 9, 30), customer=referee,
                          phones=[referee["phone"]])  # fmt: skip
    await dealership.send("VehiclePurchased", local(20, 9, 40), customer=referee,
                          vin=referee_vin, model="CT5", colour="white")  # fmt: skip
    delivered = local(20, 11)
    await dealership.send("VehicleDelivered", delivered, customer=referee, vin=referee_vin,
                          delivered_at=delivered.isoformat())  # fmt: skip
    await dealership.settled()
    dealership.clock.advance(timedelta(minutes=30))
    # sent half an hour after the delivery was recorded, dated the day before it
    claim = await dealership.send(
        "ReferralClaimed",
        delivered - timedelta(days=1),
        customer=referee,
        referral_id="rf-backdated",
        referrer={"name": "王强", "phone": referrer["phone"], "vehicle_model": "Jetta",
                  "vehicle_colour": "black"},
        vin=referee_vin,
    )  # fmt: skip
    rejected = await dealership.wait("ReferralRejected", referral_id="rf-backdated")
    assert rejected.reason == "registered_after_delivery"
    assert str(rejected.causation_id) == claim["event_id"]
    recorded_claim = await dealership.wait("ReferralClaimed", referral_id="rf-backdated")
    delivery = await dealership.wait("VehicleDelivered", vin=referee_vin)
    assert backdated(recorded_claim) and recorded_claim.occurred_at < delivery.occurred_at
    assert recorded_claim.received_at > delivery.received_at
    await dealership.settled()
    assert not [e for e in await dealership.recorded() if e.event_type == "ContactRequested"]
