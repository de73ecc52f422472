"""End to end on a real nats-server: a contact answered through another door leaves the call
centre's work list (`GET /v1/followups?status=due`) as made, and the follow-up completion
rate counts it done: a survey invitation by its `SurveyAnswered`, a referral call-back by
the `ReferralCallbackAnswered` (sent on the referee's record, whichever party was called),
a scope-change call by `ScopeChangeApproved`.

Intake, complaints, outreach, referrals, workshop and projections run in-process on one
ManualClock (the gate e2e's `Dealership`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.js import JetStreamContext

from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from services.workshop.service import WorkshopService
from tests.outreach.test_outreach_gate_e2e import DEALER, Dealership, local

CUSTOMER = {"phone": "13700137000"}
REFERRER, REFEREE = {"phone": "13700137001"}, {"phone": "13700137002"}
VIN, REFERRER_VIN, REFEREE_VIN = "LSGKB54E7LS333333", "LSGKB54E7LS444444", "LSGKB54E7LS555555"


@pytest.fixture
async def dealership(settings: LaokeSettings, js: JetStreamContext) -> AsyncIterator[Dealership]:
    running = Dealership(settings, ManualClock(datetime(2026, 1, 20, 1, 0, tzinfo=UTC)), js)
    running.services.append(WorkshopService(settings, running.clock))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def listed(dealership: Dealership, status: str) -> dict[str, dict[str, Any]]:
    params = {"dealership_id": DEALER, "status": status, "limit": 100}
    response = await dealership.http.get("/v1/followups", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return {item["follow_up_id"]: item for item in response.json()["items"]}


async def planned(dealership: Dealership) -> tuple[str, str, str, str]:
    """A serviced customer with a scope change, a referee's delivery: (survey follow-up,
    its survey id, the referral call-back, the scope-change call), all three due now."""
    send = dealership.send
    await send("CustomerRegistered", local(20, 9), customer=CUSTOMER, phones=[CUSTOMER["phone"]])
    await send("ServiceCheckedIn", local(20, 9, 30), customer=CUSTOMER, repair_order_id="RO-1",
               vin=VIN, arrival_kind="waiting")  # fmt: skip
    await send("RepairScopeChanged", local(20, 10), customer=CUSTOMER, repair_order_id="RO-1",
               added_items=["brake pads"], extra_amount_cny=480)  # fmt: skip
    await send("ServiceCompleted", local(20, 11), customer=CUSTOMER, repair_order_id="RO-0",
               vin=VIN)  # fmt: skip
    await send("CustomerRegistered", local(20, 9, 5), customer=REFERRER,
               phones=[REFERRER["phone"]], name="王强")  # fmt: skip
    await send("VehiclePurchased", local(20, 9, 10), customer=REFERRER, vin=REFERRER_VIN,
               model="Jetta", colour="black")  # fmt: skip
    await send("VehicleDelivered", local(20, 9, 20), customer=REFERRER, vin=REFERRER_VIN,
               delivered_at=local(20, 9, 20).isoformat())  # fmt: skip
    await send("CustomerRegistered", local(20, 9, 30), customer=REFEREE,
               phones=[REFEREE["phone"]])  # fmt: skip
    await send("VehiclePurchased", local(20, 9, 40), customer=REFEREE, vin=REFEREE_VIN,
               model="CT5", colour="white")  # fmt: skip
    await send("ReferralClaimed", local(20, 9, 50), customer=REFEREE, referral_id="rf-1",
               referrer={"name": "王强", "phone": REFERRER["phone"], "vehicle_model": "Jetta",
                         "vehicle_colour": "black"}, vin=REFEREE_VIN)  # fmt: skip
    await send("VehicleDelivered", local(20, 12), customer=REFEREE, vin=REFEREE_VIN,
               delivered_at=local(20, 12).isoformat())  # fmt: skip

    survey = await dealership.wait("FollowUpDue", reason="survey_csi")
    callback = await dealership.wait("FollowUpDue", reason="referral_callback")
    scope = await dealership.wait("FollowUpDue", reason="scope_change_contact")
    await dealership.settled()
    dealership.clock.set(local(22, 10))  # each has come due
    return survey.follow_up_id, survey.survey_id, callback.follow_up_id, scope.follow_up_id


async def test_each_door_takes_its_contact_off_the_work_list_as_made(
    dealership: Dealership,
) -> None:
    survey, survey_id, callback, scope = await planned(dealership)
    assert {survey, callback, scope} <= set(await listed(dealership, "due"))

    send = dealership.send
    await send("SurveyAnswered", local(22, 10), customer=CUSTOMER, survey_id=survey_id,
               survey_kind="CSI", score=9, about=None)  # fmt: skip
    await send("ReferralCallbackAnswered", local(22, 10, 5), customer=REFEREE,
               referral_id="rf-1", questions=[{"correct": True}] * 3)  # fmt: skip
    await send("ScopeChangeApproved", local(22, 10, 10), customer=CUSTOMER,
               repair_order_id="RO-1")  # fmt: skip
    for follow_up_id in (survey, callback, scope):
        made = await dealership.wait("FollowUpAnswered", follow_up_id=follow_up_id)
        assert made.source == "outreach"
    await dealership.settled()

    due = await listed(dealership, "due")
    assert not {survey, callback, scope} & set(due)
    done = await listed(dealership, "done")
    assert {survey, callback, scope} <= set(done)
    assert all(done[f]["outcome"] == "reached" for f in (survey, callback, scope))

    period = {"from": local(20, 0).isoformat(), "to": local(23, 0).isoformat()}
    body = await dealership.http.get(
        "/v1/metrics/satisfaction", params={"dealership_id": DEALER, "group_by": "none", **period}
    )
    assert body.status_code == 200, body.text
    (everyone,) = body.json()["groups"]
    assert everyone["follow_up_completion"]["numerator"] == 3  # the three answered: made
