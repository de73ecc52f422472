"""The contract's rules about time and preferences: touchpoints, receipt time, opt-outs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from events import (
    EVENT_TYPES,
    Event,
    Rejected,
    backdated,
    counted_at,
    is_touchpoint,
    parse_inbound,
)
from events.factories import sample_inbound, sample_recorded
from events.preferences import CHANNELS, opt_outs_after, opt_outs_united

AT = datetime.fromisoformat("2026-01-20T10:00:00+08:00")


def inbound(event_type: str, received: timedelta | None = None, **fields: Any) -> Event:
    data = sample_inbound(event_type, occurred_at=AT.isoformat(), **fields)
    if received is not None:
        data["received_at"] = (AT + received).isoformat()
    return EVENT_TYPES[event_type].model_validate(data, context={"trusted": True})


# -- touchpoints -------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["reached", "declined"])
def test_a_call_that_reached_the_customer_is_a_touchpoint(outcome: str) -> None:
    assert is_touchpoint(inbound("FollowUpCompleted", outcome=outcome))


@pytest.mark.parametrize("outcome", ["no_answer", "wrong_number"])
def test_a_call_that_reached_nobody_is_not_a_touchpoint(outcome: str) -> None:
    assert not is_touchpoint(inbound("FollowUpCompleted", outcome=outcome, satisfaction=None))


def test_a_preference_change_is_not_a_touchpoint_a_visit_and_a_reward_are() -> None:
    assert not is_touchpoint(inbound("ContactPreferenceChanged"))
    assert not is_touchpoint(inbound("CustomerSplitRequested"))  # ops undoing a merge
    assert is_touchpoint(inbound("CustomerVisited", visit_kind="phone_out"))
    reward = EVENT_TYPES["RewardGranted"].model_validate(
        sample_recorded("RewardGranted"), context={"trusted": True}
    )
    assert is_touchpoint(reward)
    due = EVENT_TYPES["FollowUpDue"].model_validate(
        sample_recorded("FollowUpDue"), context={"trusted": True}
    )
    assert not is_touchpoint(due)  # a decision is not a contact


# -- receipt time ------------------------------------------------------------------------------


def test_an_event_received_within_15_minutes_counts_at_its_occurred_at() -> None:
    on_time = inbound("ApologyIssued", received=timedelta(minutes=15))
    assert not backdated(on_time) and counted_at(on_time) == AT


def test_a_backdated_step_of_a_watched_case_counts_at_its_receipt() -> None:
    late = inbound("ApologyIssued", received=timedelta(minutes=16))
    assert backdated(late)
    assert counted_at(late) == AT + timedelta(minutes=16)
    assert counted_at(late, watched=False) == AT  # a case reported after the fact


def test_an_event_without_receipt_time_counts_at_its_occurred_at() -> None:
    assert counted_at(inbound("ApologyIssued")) == AT


def test_a_sender_may_not_set_received_at() -> None:
    data = sample_inbound("ApologyIssued", received_at=AT.isoformat())
    with pytest.raises(Rejected) as refused:
        parse_inbound(json.dumps(data).encode())
    assert (refused.value.reason, refused.value.field) == ("forbidden_field", "received_at")


# -- preferences -------------------------------------------------------------------------------


def test_an_opt_out_naming_no_purpose_spares_complaint_steps() -> None:
    after = opt_outs_after({}, True, None, None)
    assert set(after) == {"service", "survey", "marketing", "referral"}
    assert all(channels == sorted(CHANNELS) for channels in after.values())


def test_an_opt_out_names_purposes_and_channels() -> None:
    after = opt_outs_after({}, True, ["sms"], ["marketing", "complaint"])
    assert after == {"complaint": ["sms"], "marketing": ["sms"]}


def test_opting_back_in_removes_only_what_it_names() -> None:
    out = opt_outs_after({}, True, None, ["marketing", "survey"])
    back = opt_outs_after(out, False, ["wechat"], ["marketing"])
    assert "wechat" not in back["marketing"] and back["survey"] == sorted(CHANNELS)
    assert opt_outs_after(back, False, None, ["marketing", "survey"]) == {}


def test_merged_opt_outs_keep_the_most_restrictive() -> None:
    united = opt_outs_united({"marketing": ["sms"]}, {"marketing": ["phone"], "survey": ["sms"]})
    assert united == {"marketing": ["phone", "sms"], "survey": ["sms"]}
