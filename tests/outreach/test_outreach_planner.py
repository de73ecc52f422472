"""The pure planner and contact rules: one test per rule (no I/O)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from events import FollowUpDue
from events.factories import sample_recorded
from laoke.merges import CALENDAR_REASONS, follow_up_origin, follows_restored
from services.outreach.aggregates import ContactPlan, FollowUp
from services.outreach.calendar import local
from services.outreach.planner import (
    PlannedContact,
    plan,
    plan_slot,
    sampled,
    schedule,
    service_due,
)
from services.outreach.rules import apply_contact_rules
from services.outreach.settings import Policy
from tests.outreach.helpers import recorded

POLICY = Policy()
SH = "Asia/Shanghai"


def local_dt(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(SH))


def new_plan(**register: Any) -> ContactPlan:
    state = ContactPlan(dealership_id="demo-4s", customer_id="c-0001")
    if register:
        state.register(
            name=register.get("name", "张伟"),
            phones=register.get("phones", ["13800138000"]),
            birthday=register.get("birthday"),
            family=register.get("family", []),
            marketing=register.get("marketing", True),
            channels=register.get("channels", ["phone", "wechat"]),
        )
    return state


def with_contacts(state: ContactPlan, *times: datetime) -> ContactPlan:
    for i, at in enumerate(times):
        state.plan_follow_up(FollowUp(f"fu-{i}", "service_reminder", at, "phone", "x").to_dict())
    return state


def contact(reason: str, at: datetime, channels: tuple[str, ...] = ("phone",)) -> PlannedContact:
    return PlannedContact(reason, reason, at, channels)


# -- planning -------------------------------------------------------------------------------


def test_purchase_on_20_jan_calls_on_27_jan_and_20_apr_out_of_quiet_hours() -> None:
    bought = local_dt(2026, 1, 20, 7, 30)  # before the quiet hours end at 09:00
    event = recorded("VehiclePurchased", occurred_at=bought.isoformat())
    state = new_plan(birthday=None)
    due, skipped = apply_contact_rules(plan(state, event, POLICY), state, POLICY)
    assert skipped == []
    found = {d.contact.reason: local(d.due_at, SH) for d in due}
    assert found == {
        "purchase_call_7d": local_dt(2026, 1, 27, 9, 0),
        "purchase_call_3m": local_dt(2026, 4, 20, 9, 0),
    }
    assert all("quiet_hours:moved" in d.rules_applied for d in due)
    assert {d.channel for d in due} == {"phone"}


def test_small_purchase_sample_is_seeded_and_reproducible() -> None:
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(400)]
    first = [sampled("seed", i, 0.25) for i in ids]
    assert first == [sampled("seed", i, 0.25) for i in ids]
    assert 60 < sum(first) < 140
    assert first != [sampled("other-seed", i, 0.25) for i in ids]
    assert not any(sampled("seed", i, 0.0) for i in ids)
    assert all(sampled("seed", i, 1.0) for i in ids)


def test_small_purchase_in_the_sample_gets_a_next_day_call() -> None:
    state = new_plan()
    everyone = Policy(small_purchase_sample_rate=1.0)
    nobody = Policy(small_purchase_sample_rate=0.0)
    event = recorded("SmallPurchaseMade", occurred_at="2026-01-20T11:00:00+08:00")
    calls = plan(state, event, everyone)
    assert [(c.reason, c.due_at - event.occurred_at) for c in calls] == [
        ("small_purchase_call", timedelta(days=1))
    ]
    assert plan(state, event, nobody) == []


def test_service_completed_plans_a_csi_survey_and_delivery_an_ssi_survey() -> None:
    state = new_plan()
    service = recorded("ServiceCompleted", occurred_at="2026-01-20T11:00:00+08:00")
    delivery = recorded(
        "VehicleDelivered",
        occurred_at="2026-01-20T11:00:00+08:00",
        delivered_at="2026-01-20T15:00:00+08:00",
    )
    assert [(c.reason, c.survey_kind) for c in plan(state, service, POLICY)] == [
        ("survey_csi", "CSI")
    ]
    assert [(c.reason, c.survey_kind) for c in plan(state, delivery, POLICY)] == [
        ("survey_ssi", "SSI")
    ]


def test_service_reminder_after_six_months_when_driving_little() -> None:
    state = new_plan()
    state.vehicle_delivered("LSGKB54E7LS123456", local_dt(2025, 1, 10, 12))
    state.serviced("LSGKB54E7LS123456", local_dt(2026, 1, 10, 12), 3000)  # 3,000 km a year
    due = service_due(state.vehicles["LSGKB54E7LS123456"], POLICY)
    assert due == local_dt(2026, 7, 10, 10, 0)


def test_service_reminder_by_mileage_when_driving_a_lot() -> None:
    state = new_plan()
    state.vehicle_delivered("LSGKB54E7LS123456", local_dt(2025, 11, 10, 12))
    state.serviced("LSGKB54E7LS123456", local_dt(2026, 1, 9, 12), 6000)  # 100 km a day
    due = service_due(state.vehicles["LSGKB54E7LS123456"], POLICY)
    assert due == local_dt(2026, 2, 28, 10, 0)  # 5,000 km / 100 km a day = 50 days


def test_inspection_and_insurance_reminders_come_ahead_of_the_anniversary() -> None:
    state = new_plan()
    state.vehicle_delivered("LSGKB54E7LS123456", local_dt(2026, 1, 20, 15))
    slots = schedule(state, local_dt(2026, 1, 21), POLICY)
    assert slots["insurance:LSGKB54E7LS123456"] == local_dt(2026, 12, 21, 10)
    assert slots["inspection:LSGKB54E7LS123456"] == local_dt(2027, 12, 21, 10)
    reasons = [
        c.reason
        for c in plan_slot(state, "insurance:LSGKB54E7LS123456", local_dt(2026, 12, 21, 10), POLICY)
    ]
    assert reasons == ["insurance_reminder"]


def test_spring_festival_and_mid_autumn_2027_greetings_land_on_their_real_dates() -> None:
    state = new_plan(birthday=None)
    slots = schedule(state, local_dt(2026, 10, 1), POLICY)
    assert slots["holiday:Spring Festival"].date() == date(2027, 2, 6)
    assert slots["holiday:Mid-Autumn Festival"].date() == date(2027, 9, 15)
    greeting = plan_slot(state, "holiday:Spring Festival", slots["holiday:Spring Festival"], POLICY)
    assert [(c.reason, c.detail["holiday"]) for c in greeting] == [
        ("holiday_greeting", "Spring Festival")
    ]


def test_a_family_members_birthday_is_planned() -> None:
    state = new_plan(
        birthday="1985-06-15",
        family=[{"relation": "spouse", "name": "李娜", "birthday": "1987-09-20"}],
    )
    slots = schedule(state, local_dt(2026, 1, 20), POLICY)
    assert slots["birthday:spouse:李娜"] == local_dt(2026, 9, 20, 10)
    assert slots["birthday:self:张伟"] == local_dt(2026, 6, 15, 10)
    greeting = plan_slot(state, "birthday:spouse:李娜", local_dt(2026, 9, 20, 10), POLICY)
    assert [(c.reason, c.detail["relation"], c.detail["name"]) for c in greeting] == [
        ("birthday_greeting", "spouse", "李娜")
    ]


def test_after_a_birthday_fired_the_next_one_is_a_year_later() -> None:
    state = new_plan(birthday="1985-06-15")
    state.slot_fired("birthday:self:张伟", local_dt(2026, 6, 15, 10))
    slots = schedule(state, local_dt(2026, 6, 15, 10), POLICY)
    assert slots["birthday:self:张伟"] == local_dt(2027, 6, 15, 10)


def test_reengagement_180_days_after_the_last_touchpoint() -> None:
    state = new_plan()
    state.touch(local_dt(2026, 1, 20, 15))
    due = schedule(state, local_dt(2026, 1, 20, 16), POLICY)["reengage"]
    assert due == local_dt(2026, 7, 19, 10)
    assert [c.reason for c in plan_slot(state, "reengage", due, POLICY)] == ["reengagement"]
    state.touch(local_dt(2026, 5, 1, 15))  # a visit since: not neglected
    assert plan_slot(state, "reengage", due, POLICY) == []


def test_no_answer_is_retried_next_day_at_the_same_time_then_given_up() -> None:
    state = new_plan()
    first = FollowUp("fu-a", "purchase_call_7d", local_dt(2026, 1, 27, 9), "phone", "outreach")
    state.plan_follow_up(first.to_dict())
    event = recorded(
        "FollowUpCompleted",
        follow_up_id="fu-a",
        outcome="no_answer",
        occurred_at="2026-01-27T09:05:00+08:00",
        satisfaction=None,
    )
    retries = plan(state, event, POLICY)
    assert [(c.reason, c.due_at, c.attempt, c.root_id) for c in retries] == [
        ("retry", local_dt(2026, 1, 28, 9), 2, "fu-a")
    ]
    third = FollowUp(
        "fu-c", "retry", local_dt(2026, 1, 29, 9), "phone", "outreach", attempt=3, root_id="fu-a"
    )
    state.plan_follow_up(third.to_dict())
    event = recorded(
        "FollowUpCompleted", follow_up_id="fu-c", outcome="no_answer", satisfaction=None
    )
    due, skipped = apply_contact_rules(plan(state, event, POLICY), state, POLICY)
    assert due == []
    assert [(s.skip_reason, s.contact.root_id) for s in skipped] == [("retries_exhausted", "fu-a")]


# -- contact rules -------------------------------------------------------------------------


def test_four_contacts_in_30_days_stop_a_fifth_marketing_contact_not_a_complaint_callback() -> None:
    state = with_contacts(new_plan(), *(local_dt(2026, 1, d, 10) for d in (2, 9, 16, 23)))
    at = local_dt(2026, 1, 28, 10)
    due, skipped = apply_contact_rules(
        [contact("birthday_greeting", at, ("phone",)), contact("complaint_callback", at)],
        state,
        POLICY,
    )
    assert [d.contact.reason for d in due] == ["complaint_callback"]
    assert [(s.contact.reason, s.skip_reason) for s in skipped] == [
        ("birthday_greeting", "contact_cap")
    ]


def test_over_the_cap_a_service_reminder_waits_for_room() -> None:
    state = with_contacts(new_plan(), *(local_dt(2026, 1, d, 10) for d in (2, 9, 16, 23)))
    due, skipped = apply_contact_rules(
        [contact("service_reminder", local_dt(2026, 1, 28, 10))], state, POLICY
    )
    assert skipped == []
    assert due[0].due_at == local_dt(2026, 2, 1, 10)  # the 2 Jan contact left the window
    assert "contact_cap:waited" in due[0].rules_applied


def test_the_cap_admits_higher_priority_first() -> None:
    state = with_contacts(new_plan(), *(local_dt(2026, 1, d, 10) for d in (2, 9, 16)))
    at = local_dt(2026, 1, 28, 10)
    due, skipped = apply_contact_rules(
        [contact("holiday_greeting", at), contact("purchase_call_7d", at)], state, POLICY
    )
    assert [d.contact.reason for d in due] == ["purchase_call_7d"]
    assert [s.contact.reason for s in skipped] == ["holiday_greeting"]


def test_an_opted_out_customer_gets_nothing() -> None:
    state = new_plan(birthday="1985-06-15")
    state.change_preference(True, None)
    at = local_dt(2026, 1, 28, 10)
    reasons = ["purchase_call_7d", "survey_csi", "birthday_greeting", "service_reminder", "retry"]
    due, skipped = apply_contact_rules([contact(r, at) for r in reasons], state, POLICY)
    assert due == []
    assert {s.skip_reason for s in skipped} == {"opted_out"}
    assert len(skipped) == len(reasons)


def test_a_channel_opt_out_uses_another_consented_channel_or_skips() -> None:
    state = new_plan(channels=["phone", "wechat"])
    state.change_preference(True, ["phone"])
    at = local_dt(2026, 1, 28, 10)
    due, _ = apply_contact_rules(
        [contact("purchase_call_7d", at, ("phone", "wechat"))], state, POLICY
    )
    assert [d.channel for d in due] == ["wechat"]
    due, skipped = apply_contact_rules([contact("purchase_call_7d", at, ("phone",))], state, POLICY)
    assert due == [] and [s.skip_reason for s in skipped] == ["channel_opted_out"]


def test_no_marketing_consent_means_no_greetings_but_service_calls_go() -> None:
    state = new_plan(marketing=False)
    at = local_dt(2026, 1, 28, 10)
    due, skipped = apply_contact_rules(
        [contact("holiday_greeting", at), contact("purchase_call_7d", at)], state, POLICY
    )
    assert [d.contact.reason for d in due] == ["purchase_call_7d"]
    assert [s.skip_reason for s in skipped] == ["opted_out"]


def test_an_open_complaint_pauses_marketing_until_resolved() -> None:
    state = new_plan()
    state.open_complaint("CP-1")
    at = local_dt(2026, 1, 28, 10)
    candidates = [contact(r, at) for r in ("birthday_greeting", "reengagement", "survey_csi")]
    due, skipped = apply_contact_rules(candidates, state, POLICY)
    assert [d.contact.reason for d in due] == ["survey_csi"]
    assert {(s.contact.reason, s.skip_reason) for s in skipped} == {
        ("birthday_greeting", "open_complaint"),
        ("reengagement", "open_complaint"),
    }
    state.close_complaint("CP-1")
    due, skipped = apply_contact_rules(candidates, state, POLICY)
    assert len(due) == 3 and skipped == []


def test_a_wrong_number_stops_phone_calls() -> None:
    state = new_plan(channels=["phone"])
    state.flag_phone("13800138000")
    due, skipped = apply_contact_rules(
        [contact("purchase_call_7d", local_dt(2026, 1, 28, 10))], state, POLICY
    )
    assert due == [] and [s.skip_reason for s in skipped] == ["wrong_number"]


def test_quiet_hours_are_a_dealership_setting() -> None:
    from datetime import time

    late = Policy(quiet_start=time(22), quiet_end=time(8))
    at = local_dt(2026, 1, 28, 21, 30)
    due, _ = apply_contact_rules([contact("purchase_call_7d", at)], new_plan(), late)
    assert due[0].due_at == at
    due, _ = apply_contact_rules([contact("purchase_call_7d", at)], new_plan(), POLICY)
    assert due[0].due_at == local_dt(2026, 1, 29, 9)


def test_policies_are_per_dealership() -> None:
    from services.outreach.settings import OutreachSettings

    settings = OutreachSettings(
        dealerships={"small-4s": {"cap_contacts": 2, "timezone": "Asia/Urumqi"}}
    )
    assert settings.policy("small-4s").cap_contacts == 2
    assert settings.policy("small-4s").timezone == "Asia/Urumqi"
    assert settings.policy("demo-4s").cap_contacts == 4
    state = with_contacts(new_plan(), local_dt(2026, 1, 2, 10), local_dt(2026, 1, 9, 10))
    at = local_dt(2026, 1, 10, 10)
    due, _ = apply_contact_rules(
        [contact("holiday_greeting", at)], state, settings.policy("demo-4s")
    )
    assert len(due) == 1
    due, _ = apply_contact_rules(
        [contact("holiday_greeting", at)], state, settings.policy("small-4s")
    )
    assert due == []


def test_whose_a_follow_up_is_after_a_split_goes_by_its_origin_or_its_car() -> None:
    """laoke/merges.py: a contact planned on an event is the person's of that event; one
    from the calendar (no origin) goes with its car; a greeting with no car stays."""
    theirs, cars = {"ev-b"}, {"VIN-B"}
    assert follows_restored("ev-b", "purchase_call_7d", "VIN-A", theirs, cars)
    assert not follows_restored("ev-a", "purchase_call_7d", "VIN-B", theirs, cars)
    assert follows_restored(None, "service_reminder", "VIN-B", theirs, cars)
    assert not follows_restored(None, "service_reminder", "VIN-A", theirs, cars)
    assert not follows_restored(None, "birthday_greeting", None, theirs, cars)


def test_the_calendar_plans_only_calendar_reasons() -> None:
    """Every contact `plan_slot` plans has a reason the split rule takes for the calendar's
    (so its origin, the event that scheduled the slot, is not read as its cause)."""
    state = new_plan(birthday="1990-03-03")
    at = local_dt(2026, 3, 3, 10)
    slots = ("reengage", "birthday:self:张伟", "holiday:spring_festival", "service:V",
             "inspection:V", "insurance:V")  # fmt: skip
    reasons = {c.reason for slot in slots for c in plan_slot(state, slot, at, POLICY)}
    assert reasons == CALENDAR_REASONS
    due = recorded("VehiclePurchased")  # any event: a calendar reason has no origin
    reminder = sample_follow_up_due(reason="service_reminder", correlation_id=due.event_id)
    call = sample_follow_up_due(reason="purchase_call_7d", correlation_id=due.event_id)
    assert (follow_up_origin(reminder), follow_up_origin(call)) == (None, str(due.event_id))


def sample_follow_up_due(**fields: Any) -> FollowUpDue:
    data = sample_recorded("FollowUpDue", **fields)
    return FollowUpDue.model_validate(data, context={"trusted": True})
