"""The contact gate's use cases on a real (SQLite) store: requested contacts, refusals with
one id however they come, logged calls under the cap, insurance offers, purchase calls from
the delivery, and what is (not) a touchpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from events import Event, FollowUpDue, FollowUpSkipped
from laoke.clock import ManualClock
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from services.outreach.aggregates import ContactPlan
from services.outreach.application import Outreach
from services.outreach.planner import plan_slot
from services.outreach.rules import apply_contact_rules
from services.outreach.settings import OutreachSettings, Policy
from tests.outreach.helpers import CUSTOMER, DEALER, decision_from, feed, plan_of, recorded

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)
VIN = "LSGKB54E7LS123456"


def local(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def open_outreach(path: Path) -> tuple[ServiceApplication, Outreach]:
    app = ServiceApplication(LaokeSettings(data_dir=path), "outreach")
    return app, Outreach(app, OutreachSettings(), ManualClock(NOW))


@pytest.fixture
def outreach(tmp_path: Path) -> Iterator[Outreach]:
    app, outreach = open_outreach(tmp_path)
    yield outreach
    app.close()


def callback_request(not_before: datetime) -> Event:
    return decision_from(
        "ContactRequested",
        event_id="5a1c3f70-0000-4000-8000-000000000001",
        source="complaints",
        follow_up_id="complaint-callback-x",
        reason="complaint_callback",
        not_before=not_before.isoformat(),
        channels=["phone"],
        complaint_id="CP-1",
    )


def told(event_type: str, at: datetime, **fields: object) -> Event:
    """An inbound event that happened at `at`, as intake records it."""
    return recorded(event_type, occurred_at=at.isoformat(), **fields)


def opt_out(at: datetime, **fields: object) -> Event:
    return recorded("ContactPreferenceChanged", occurred_at=at.isoformat(), opt_out=True, **fields)


def test_a_requested_callback_is_planned_under_its_id_out_of_quiet_hours(
    outreach: Outreach,
) -> None:
    request = callback_request(local(23, 22, 40))
    (due,) = feed(outreach, request)
    assert isinstance(due, FollowUpDue)
    assert (due.follow_up_id, due.reason, due.complaint_id) == (
        "complaint-callback-x",
        "complaint_callback",
        "CP-1",
    )
    assert due.due_at == local(24, 9) and "quiet_hours:moved" in due.rules_applied
    assert due.causation_id == request.event_id and due.source == "outreach"
    assert plan_of(outreach).follow_ups["complaint-callback-x"].source == "complaints"


def test_a_refusal_has_one_id_whether_the_opt_out_came_before_or_after(tmp_path: Path) -> None:
    """Outreach refuses at once, or cancels the planned call-back when the opt-out comes
    later: the same FollowUpSkipped either way, so complaints decides the same."""
    refusals = []
    for order, path in (("before", tmp_path / "a"), ("after", tmp_path / "b")):
        app, outreach = open_outreach(path)
        out = opt_out(local(21, 10), purposes=["complaint"], channels=None)
        events = [out, callback_request(local(23, 15))]
        decided = feed(outreach, *(events if order == "before" else reversed(events)))
        app.close()
        (skipped,) = [d for d in decided if isinstance(d, FollowUpSkipped)]
        refusals.append(skipped)
    first, second = refusals
    assert first.event_id == second.event_id and first.causation_id == second.causation_id
    assert (first.skip_reason, first.complaint_id) == ("opted_out", "CP-1")


def test_an_opt_out_naming_no_purpose_does_not_cancel_a_planned_callback(
    outreach: Outreach,
) -> None:
    feed(outreach, callback_request(local(23, 15)))
    decided = feed(outreach, opt_out(local(21, 10), channels=None))
    assert decided == []
    assert plan_of(outreach).follow_ups["complaint-callback-x"].status == "due"


def test_calls_staff_logged_count_toward_the_cap(outreach: Outreach) -> None:
    for day in (2, 9, 16, 23):
        feed(
            outreach,
            told("CustomerVisited", local(day, 10), visit_kind="phone_out"),
        )
    state = plan_of(outreach)
    assert state.counted_contacts() == [local(d, 10) for d in (2, 9, 16, 23)]
    greeting = plan_slot(state, "holiday:Spring Festival", local(28, 10), Policy())
    due, skipped = apply_contact_rules(greeting, state, Policy())
    assert due == [] and [s.skip_reason for s in skipped] == ["contact_cap"]
    # a call in (phone_in) is a touchpoint, not an outbound contact
    feed(outreach, told("CustomerVisited", local(27, 10), visit_kind="phone_in"))
    assert len(plan_of(outreach).counted_contacts()) == 4


def test_an_insurance_reminder_with_an_offer_is_marketing() -> None:
    state = ContactPlan(dealership_id=DEALER, customer_id=CUSTOMER)
    state.register(name="张伟", phones=["13800138000"], birthday=None, family=[],
                   marketing=False, channels=["phone", "wechat"])  # fmt: skip
    reminder = plan_slot(state, f"insurance:{VIN}", local(28, 10), Policy())
    renewal, _ = apply_contact_rules(reminder, state, Policy())
    assert [d.rules_applied[0] for d in renewal] == ["purpose:service"]
    offer = Policy(insurance_purpose="marketing")
    due, skipped = apply_contact_rules(reminder, state, offer)
    assert due == [] and [s.why for s in skipped] == ["no consent to marketing contact"]


def test_purchase_calls_count_from_a_delivery_known_first(outreach: Outreach) -> None:
    delivered = local(25, 15)
    feed(outreach, told("VehicleDelivered", delivered, vin=VIN, delivered_at=delivered.isoformat()))
    decided = feed(outreach, told("VehiclePurchased", local(10, 11), vin=VIN))
    calls = {d.reason: d.due_at for d in decided if isinstance(d, FollowUpDue)}
    assert calls == {
        "purchase_call_7d": local(1, 15, month=2),
        "purchase_call_3m": local(25, 15, month=4),
    }


def test_a_later_delivery_moves_the_purchase_calls_not_yet_due(outreach: Outreach) -> None:
    ordered = feed(outreach, told("VehiclePurchased", local(10, 11), vin=VIN))
    by_reason = {d.reason: d for d in ordered if isinstance(d, FollowUpDue)}
    delivered = local(15, 16)  # before the 7-day call (17 Jan) is due
    delivery = told("VehicleDelivered", delivered, vin=VIN, delivered_at=delivered.isoformat())
    decided = feed(outreach, delivery)
    skipped = {d.follow_up_id: d.skip_reason for d in decided if isinstance(d, FollowUpSkipped)}
    assert skipped == {by_reason[r].follow_up_id: "superseded" for r in by_reason}
    moved = {d.reason: d for d in decided if isinstance(d, FollowUpDue) and d.reason in by_reason}
    assert {r: d.due_at for r, d in moved.items()} == {
        "purchase_call_7d": local(22, 16),
        "purchase_call_3m": local(15, 16, month=4),
    }
    assert {d.detail["replaces"] for d in moved.values()} == set(skipped)
    state = plan_of(outreach)
    assert {state.follow_ups[f].status for f in skipped} == {"cancelled"}
    # the superseded calls no longer count toward the cap: two first tries planned, plus SSI
    assert len(state.counted_contacts()) == 3


def test_the_calls_move_to_the_delivery_even_when_the_first_ones_were_skipped(
    outreach: Outreach,
) -> None:
    """Which calls are planned again follows from the events' times alone, not from what the
    rules made of the first ones (here: skipped over the cap), so the same input always
    plans the same contacts, however other services' contacts interleave."""
    for day in (5, 6, 7, 8):  # four calls staff made: the cap is full for a month
        feed(outreach, told("CustomerVisited", local(day, 10), visit_kind="phone_out"))
    ordered = feed(outreach, told("VehiclePurchased", local(10, 11), vin=VIN))
    skipped = {d.reason: d.skip_reason for d in ordered if isinstance(d, FollowUpSkipped)}
    assert skipped == {"purchase_call_7d": "contact_cap"}  # the 3-month call is out of reach
    delivered = local(15, 16)
    delivery = told("VehicleDelivered", delivered, vin=VIN, delivered_at=delivered.isoformat())
    decided = feed(outreach, delivery)
    calls = [d for d in decided if d.reason in ("purchase_call_7d", "purchase_call_3m")]
    from_delivery = {
        d.reason: d for d in calls if d.detail.get("counted_from") == "delivery"
    }  # the 7-day call is planned again (and refused again: the cap is still full)
    assert set(from_delivery) == {"purchase_call_7d", "purchase_call_3m"}
    assert "replaces" not in from_delivery["purchase_call_7d"].detail
    superseded = [d for d in calls if getattr(d, "skip_reason", None) == "superseded"]
    assert [d.reason for d in superseded] == ["purchase_call_3m"]
    assert from_delivery["purchase_call_3m"].detail["replaces"] == superseded[0].follow_up_id
    again = feed(outreach, told("VehicleDelivered", local(16, 9), vin=VIN,
                                delivered_at=local(16, 9).isoformat()))  # fmt: skip
    assert not [d for d in again if d.reason in ("purchase_call_7d", "purchase_call_3m")]


def test_failed_calls_and_preference_changes_are_not_touchpoints(outreach: Outreach) -> None:
    feed(outreach, told("CustomerVisited", local(10, 10)))
    for outcome in ("no_answer", "wrong_number"):
        failed = told("FollowUpCompleted", local(12, 10), follow_up_id="fu-x", outcome=outcome)
        feed(outreach, failed)
    feed(outreach, opt_out(local(13, 10), channels=["sms"]))
    assert plan_of(outreach).last_touchpoint == local(10, 10)
    declined = told("FollowUpCompleted", local(14, 10), follow_up_id="fu-y", outcome="declined")
    feed(outreach, declined)
    assert plan_of(outreach).last_touchpoint == local(14, 10)


def test_a_reward_is_a_touchpoint(outreach: Outreach) -> None:
    feed(outreach, told("CustomerVisited", local(10, 10)))
    reward = decision_from("RewardGranted", occurred_at=local(11, 10).isoformat())
    feed(outreach, reward)
    assert plan_of(outreach).last_touchpoint == reward.occurred_at == local(11, 10)
