"""A contact's useful life, as pure rules (no I/O): the window per reason, contacts planned
after their window (a history import) skipped, and when an open one has outlived it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.outreach.aggregates import ContactPlan, FollowUp
from services.outreach.calendar import local
from services.outreach.expiry import expiry_of, outlived, split_expired, with_expiry
from services.outreach.planner import PRIORITY, PlannedContact, plan, schedule
from services.outreach.rules import apply_contact_rules
from services.outreach.settings import FollowUpLives, OutreachSettings, Policy
from tests.outreach.helpers import recorded

POLICY = Policy()
SH = ZoneInfo("Asia/Shanghai")
OWN_REASONS = sorted(FollowUpLives.model_fields)


def local_dt(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def new_plan() -> ContactPlan:
    state = ContactPlan(dealership_id="demo-4s", customer_id="c-0001")
    state.register(
        name="张伟",
        phones=["13800138000"],
        birthday=None,
        family=[],
        marketing=True,
        channels=["phone", "wechat"],
    )
    return state


# -- the window per reason ---------------------------------------------------------------------


@pytest.mark.parametrize("reason", OWN_REASONS)
def test_each_reason_expires_at_midnight_after_its_due_day_and_its_life(reason: str) -> None:
    due = local_dt(2026, 3, 10, 21, 30)
    days = POLICY.follow_up_life_days.days(reason)
    assert days is not None, "every contact kind outreach plans has a default life"
    expires = expiry_of(reason, due, POLICY)
    assert expires is not None
    here = local(expires, "Asia/Shanghai")
    assert here.time() == time(0)
    assert here.date() == due.date() + timedelta(days=days + 1)


def test_the_defaults_follow_docs_outreach() -> None:
    lives = POLICY.follow_up_life_days
    # a greeting after its day is pointless; a one-week call or a survey after a few weeks
    assert lives.birthday_greeting == lives.holiday_greeting == 0
    assert lives.purchase_call_7d is not None and 7 <= lives.purchase_call_7d <= 21
    for survey in (lives.survey_csi, lives.survey_ssi):
        assert survey is not None and survey <= 21
    birthday = expiry_of("birthday_greeting", local_dt(2026, 6, 15, 10), POLICY)
    assert birthday == local_dt(2026, 6, 16)


def test_contacts_other_services_own_never_expire_here() -> None:
    others = set(PRIORITY) - set(OWN_REASONS) - {"retry"}
    assert others == {"complaint_callback", "referral_callback", "scope_change_contact"}
    for reason in others:
        assert expiry_of(reason, local_dt(2026, 3, 10, 10), POLICY) is None


def test_a_dealership_overrides_one_life_and_keeps_the_others() -> None:
    settings = OutreachSettings(
        follow_up_life_days=FollowUpLives(purchase_call_7d=10),
        dealerships={"bj-4s": {"follow_up_life_days": {"survey_csi": 3, "reengagement": None}}},
    )
    mine, other = settings.policy("bj-4s"), settings.policy("sh-4s")
    assert mine.follow_up_life_days.survey_csi == 3
    assert mine.follow_up_life_days.reengagement is None
    assert mine.follow_up_life_days.purchase_call_7d == 10  # the group's setting, kept
    assert other.follow_up_life_days.survey_csi == POLICY.follow_up_life_days.survey_csi
    assert expiry_of("reengagement", local_dt(2026, 3, 10, 10), mine) is None


def test_a_retry_keeps_its_first_trys_expiry() -> None:
    first = local_dt(2026, 2, 11)
    retry = PlannedContact(
        "retry", "retry", local_dt(2026, 2, 10, 10), ("phone",), expires_at=first
    )
    never = replace(retry, expires_at=None)  # a first try without a life
    assert [c.expires_at for c in with_expiry([retry, never], POLICY)] == [first, None]


# -- planned after the window: a history import ------------------------------------------------


def test_a_history_import_plans_nothing_whose_window_has_passed() -> None:
    now = local_dt(2026, 1, 20, 10)
    old = recorded("VehiclePurchased", occurred_at="2024-03-01T10:00:00+08:00")
    recent = recorded("VehiclePurchased", occurred_at="2026-01-10T10:00:00+08:00")
    fresh, stale = split_expired(with_expiry(plan(new_plan(), old, POLICY), POLICY), now)
    assert fresh == []
    assert {(s.contact.reason, s.skip_reason) for s in stale} == {
        ("purchase_call_7d", "expired"),
        ("purchase_call_3m", "expired"),
    }
    # ten days ago: the 7-day call is three days late but still worth making
    fresh, stale = split_expired(with_expiry(plan(new_plan(), recent, POLICY), POLICY), now)
    assert sorted(c.reason for c in fresh) == ["purchase_call_3m", "purchase_call_7d"]
    assert stale == []


def test_the_window_ends_at_its_expiry_not_a_moment_later() -> None:
    contact = with_expiry(
        [PlannedContact("x", "survey_csi", local_dt(2026, 1, 2, 10), ("wechat",))], POLICY
    )[0]
    assert contact.expires_at is not None
    before = contact.expires_at - timedelta(microseconds=1)
    assert split_expired([contact], before) == ([contact], [])
    assert [s.skip_reason for s in split_expired([contact], contact.expires_at)[1]] == ["expired"]


def test_quiet_hours_past_the_window_skip_the_contact() -> None:
    late = local_dt(2026, 6, 15, 22)  # a same-day greeting at 22:00 could only go tomorrow
    greeting = with_expiry([PlannedContact("g", "birthday_greeting", late, ("wechat",))], POLICY)
    due, skipped = apply_contact_rules(greeting, new_plan(), POLICY)
    assert due == []
    assert [s.skip_reason for s in skipped] == ["expired"]


def test_waiting_for_room_under_the_cap_stops_at_the_window() -> None:
    state = new_plan()
    at = local_dt(2026, 3, 2, 10)
    for i in range(POLICY.cap_contacts):  # room again in 10 days: after the survey's window
        earlier = at - timedelta(days=20 - i)
        state.plan_follow_up(
            FollowUp(f"fu-{i}", "service_reminder", earlier, "phone", "x").to_dict()
        )
    csi = with_expiry([PlannedContact("s", "survey_csi", at, ("phone",))], POLICY)
    due, skipped = apply_contact_rules(csi, state, POLICY)
    assert due == [] and [s.skip_reason for s in skipped] == ["contact_cap"]
    without_life = [replace(csi[0], expires_at=None)]  # the same wait, no window: it waits
    due, _ = apply_contact_rules(without_life, state, POLICY)
    assert [d.rules_applied[-1] for d in due] == ["contact_cap:waited"]
    assert csi[0].expires_at is not None and due[0].due_at > csi[0].expires_at


def test_re_engagement_after_a_long_neglect_starts_at_the_next_mark() -> None:
    state = new_plan()
    state.touch(local_dt(2023, 5, 4, 15))  # imported: untouched for years
    now = local_dt(2026, 1, 20, 16)
    due = schedule(state, now, POLICY)["reengage"]
    every = timedelta(days=POLICY.reengage_after_days)
    assert now <= due < now + every
    assert (due.date() - state.last_touchpoint.astimezone(SH).date()) % every == timedelta(0)


# -- an open contact outlives its window --------------------------------------------------------


def test_an_open_contact_outlives_its_window_at_its_expiry() -> None:
    expires = local_dt(2026, 2, 4)
    open_one = FollowUp("fu-1", "survey_csi", local_dt(2026, 1, 27, 10), "wechat", "outreach")
    open_one.expires_at = expires
    assert not outlived(open_one, expires - timedelta(seconds=1))
    assert outlived(open_one, expires)
    assert not outlived(replace(open_one, status="done"), expires)
    assert not outlived(replace(open_one, expires_at=None), expires + timedelta(days=999))


def test_each_open_contact_with_a_life_has_its_expiry_scheduled() -> None:
    state = new_plan()
    first = FollowUp("fu-1", "survey_csi", local_dt(2026, 1, 27, 10), "wechat", "outreach")
    first.expires_at = local_dt(2026, 2, 4)
    callback = FollowUp("fu-2", "complaint_callback", local_dt(2026, 1, 28), "phone", "x")
    for follow_up in (first, callback):
        state.plan_follow_up(follow_up.to_dict())
    slots = schedule(state, local_dt(2026, 1, 20), POLICY)
    assert {s: at for s, at in slots.items() if s.startswith("expire:")} == {
        "expire:fu-1": first.expires_at
    }
    state.close_follow_up("fu-1", "reached")
    assert not [s for s in schedule(state, local_dt(2026, 1, 20), POLICY) if "expire" in s]


def test_an_expired_contact_takes_no_room_under_the_cap() -> None:
    state = new_plan()
    planned = FollowUp("fu-1", "survey_csi", local_dt(2026, 1, 27, 10), "wechat", "outreach")
    planned.expires_at = local_dt(2026, 2, 4)
    state.plan_follow_up(planned.to_dict())
    assert len(state.counted_contacts()) == 1
    state.expire_follow_up("fu-1", "expire:fu-1")
    assert state.counted_contacts() == []
