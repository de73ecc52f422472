"""A car sold on (`VehicleOwnershipChanged`): its previous owner's reminders of it that are
already open end, recorded (`FollowUpSkipped` `vehicle_sold`); their other contacts stay;
the new owner's plan gets the car's reminder slots (docs/outreach.md, docs/identity.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from events import Event, FollowUpDue, FollowUpSkipped
from laoke.clock import ManualClock
from laoke.decisions import decision_id
from services.outreach.aggregates import ContactPlan, FollowUp
from services.outreach.application import Outreach
from services.outreach.identity import car_reminders
from tests.outreach.helpers import decision_from, feed, fire, plan_of, recorded

NOW = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
SOLD = "LSGKB54E7LS123456"
KEPT = "LSGKB54E7LS654321"
SELLER, BUYER = "c-a", "c-b"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def owns(customer: str, vin: str, day: str) -> list[Event]:
    at = f"2026-01-{day}T10:00:00+08:00"
    return [
        recorded("VehiclePurchased", customer_id=customer, vin=vin, occurred_at=at),
        recorded("VehicleDelivered", customer_id=customer, vin=vin, delivered_at=at),
    ]


def ownership_changed(at: datetime) -> Event:
    return decision_from(
        "VehicleOwnershipChanged",
        customer_id=BUYER,
        vin=SOLD,
        previous_owner_id=SELLER,
        owner_id=BUYER,
        occurred_at=at.isoformat(),
        changed_at=at.isoformat(),
    )


def reminders_due(outreach: Outreach, clock: ManualClock) -> dict[str, FollowUpDue]:
    """The seller with two cars whose service reminders have come due (vin -> reminder)."""
    registered = recorded(
        "CustomerRegistered", customer_id=SELLER, occurred_at="2026-01-02T09:30:00+08:00"
    )
    feed(outreach, registered, *owns(SELLER, KEPT, "03"), *owns(SELLER, SOLD, "10"))
    found: dict[str, FollowUpDue] = {}
    for vin in (KEPT, SOLD):
        fired = fire(outreach, clock, f"service:{vin}", SELLER)
        (reminder,) = [d for d in fired if isinstance(d, FollowUpDue)]
        assert (reminder.reason, reminder.detail["vin"]) == ("service_reminder", vin)
        found[vin] = reminder
    return found


def test_a_car_sold_on_ends_its_previous_owners_due_service_reminder(
    outreach: Outreach, clock: ManualClock
) -> None:
    reminders = reminders_due(outreach, clock)
    due = reminders[SOLD]
    changed = ownership_changed(clock.now())
    decided = feed(outreach, changed)
    skipped = [d for d in decided if isinstance(d, FollowUpSkipped)]
    assert [(s.follow_up_id, s.reason, s.skip_reason) for s in skipped] == [
        (due.follow_up_id, "service_reminder", "vehicle_sold")
    ], "the seller's due reminder of the sold car ends, recorded"
    (skip,) = skipped
    assert skip.customer_id == SELLER, "the seller's contact, though the change is the buyer's"
    assert skip.detail["vin"] == SOLD
    assert (skip.causation_id, skip.occurred_at) == (changed.event_id, changed.occurred_at)
    assert skip.event_id == decision_id(
        changed.event_id, f"FollowUpSkipped:sold:{skip.follow_up_id}"
    )
    state = plan_of(outreach, SELLER)
    assert state.follow_ups[due.follow_up_id].status == "cancelled"
    assert f"expire:{due.follow_up_id}" not in state.deadlines
    assert feed(outreach, changed) == [], "a replay decides nothing again"
    # the new owner's plan gets the car and its reminder slots with their own events
    at = changed.occurred_at.isoformat()
    bought = recorded("VehiclePurchased", customer_id=BUYER, vin=SOLD, occurred_at=at)
    serviced = recorded("ServiceCompleted", customer_id=BUYER, vin=SOLD, occurred_at=at)
    feed(outreach, bought, serviced)
    buyer = plan_of(outreach, BUYER)
    assert SOLD in buyer.vehicles
    assert {f"service:{SOLD}", f"inspection:{SOLD}", f"insurance:{SOLD}"} <= set(buyer.deadlines)
    assert not any(SOLD in slot for slot in plan_of(outreach, SELLER).deadlines)


def test_a_due_reminder_of_the_sellers_other_car_and_a_callback_stay(
    outreach: Outreach, clock: ManualClock
) -> None:
    """Only the sold car's reminder ends: not the other car's, nor a complaint's call-back
    (about the person) another service requested, even naming the car."""
    reminders = reminders_due(outreach, clock)
    request = decision_from(
        "ContactRequested",
        customer_id=SELLER,
        source="complaints",
        follow_up_id="complaint-callback-x",
        reason="complaint_callback",
        not_before=clock.now().isoformat(),
        channels=["phone"],
        complaint_id="CP-1",
        detail={"vin": SOLD},
    )
    (callback,) = feed(outreach, request)
    assert isinstance(callback, FollowUpDue)
    decided = feed(outreach, ownership_changed(clock.now()))
    assert {d.follow_up_id for d in decided} == {reminders[SOLD].follow_up_id}
    state = plan_of(outreach, SELLER)
    kept, sold = reminders[KEPT].follow_up_id, reminders[SOLD].follow_up_id
    statuses = {f: state.follow_ups[f].status for f in (kept, sold, "complaint-callback-x")}
    assert statuses == {kept: "due", sold: "cancelled", "complaint-callback-x": "due"}
    assert f"expire:{kept}" in state.deadlines, "still open: its useful life still counts"
    assert f"expire:{sold}" not in state.deadlines
    assert KEPT in state.vehicles and SOLD not in state.vehicles
    assert not any(SOLD in slot for slot in state.deadlines)
    assert {f"inspection:{KEPT}", f"insurance:{KEPT}"} <= set(state.deadlines)


def test_the_cars_reminders_and_their_retries_end_not_its_purchase_calls() -> None:
    """Which open contacts a sale ends (`car_reminders`, pure): the car's service,
    inspection and insurance reminders and retries of one; not its purchase calls (about
    the seller's purchase), surveys, other cars' reminders, others' contacts, nor those
    already closed."""
    state = ContactPlan(dealership_id="demo-4s", customer_id=SELLER)
    at = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)

    def planned(follow_up_id: str, reason: str, vin: str | None, **more: Any) -> None:
        follow_up = FollowUp(follow_up_id, reason, at, "sms", "outreach", vin=vin, **more)
        state.plan_follow_up(follow_up.to_dict())

    for kind in ("service", "inspection", "insurance"):
        planned(f"fu-{kind}", f"{kind}_reminder", SOLD, root_id=f"fu-{kind}")
    planned("fu-retry", "retry", None, attempt=2, root_id="fu-service")
    planned("fu-other-car", "service_reminder", KEPT)
    planned("fu-7d", "purchase_call_7d", SOLD)
    planned("fu-csi", "survey_csi", None)
    planned("fu-closed", "service_reminder", SOLD, status="done")
    planned("fu-greeting", "birthday_greeting", None)
    callback = FollowUp("fu-cb", "complaint_callback", at, "phone", "complaints")
    state.plan_follow_up(callback.to_dict())
    ended = {f.follow_up_id for f in car_reminders(state, SOLD)}
    assert ended == {"fu-service", "fu-inspection", "fu-insurance", "fu-retry"}
