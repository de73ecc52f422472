"""The use cases on a real (SQLite) store, without NATS: decisions recorded once, surveys,
merges, outcomes, cancellations and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events import (
    Event,
    FollowUpAnswered,
    FollowUpDue,
    FollowUpSkipped,
    PhoneFlagged,
    SurveyAnswerRejected,
)
from laoke.clock import ManualClock
from services.outreach.application import Outreach
from services.outreach.slots import slot_due
from tests.outreach.helpers import (
    CUSTOMER,
    deadline_pending,
    decision_from,
    feed,
    fire,
    plan_of,
    recorded,
)

NOW = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)  # 10:00 Shanghai


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def registered(customer: str = CUSTOMER, **overrides: object) -> Event:
    return recorded(
        "CustomerRegistered",
        customer_id=customer,
        occurred_at="2026-01-20T09:30:00+08:00",
        **overrides,
    )


def test_purchase_decisions_carry_causation_and_deterministic_ids(outreach: Outreach) -> None:
    purchase = recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00")
    decided = feed(outreach, registered(), purchase)
    due = [d for d in decided if isinstance(d, FollowUpDue)]
    assert sorted(d.reason for d in due) == ["purchase_call_3m", "purchase_call_7d"]
    assert {d.causation_id for d in due} == {purchase.event_id}
    assert {d.correlation_id for d in due} == {purchase.correlation_id}
    assert all(d.follow_up_id == f"fu-{d.event_id.hex}" for d in due)
    assert set(plan_of(outreach).follow_ups) == {d.follow_up_id for d in due}


def test_a_complaint_callback_is_honoured_not_reemitted_and_counts(outreach: Outreach) -> None:
    callback = decision_from(
        "FollowUpDue",
        source="complaints",
        follow_up_id="fu-cb-1",
        reason="complaint_callback",
        due_at="2026-01-23T10:00:00+08:00",
        complaint_id="CP-0001",
    )
    assert feed(outreach, registered(), callback) == []
    state = plan_of(outreach)
    assert state.follow_ups["fu-cb-1"].reason == "complaint_callback"
    assert len(state.counted_contacts()) == 1


def test_our_own_decisions_coming_back_change_nothing(outreach: Outreach) -> None:
    decided = feed(outreach, registered(), recorded("VehiclePurchased"))
    version = plan_of(outreach).version
    assert feed(outreach, *decided) == []
    assert plan_of(outreach).version == version


def test_a_survey_counts_once_and_only_from_its_customer(outreach: Outreach) -> None:
    service = recorded("ServiceCompleted", occurred_at="2026-01-20T10:00:00+08:00")
    decided = feed(outreach, registered(), service)
    csi = next(d for d in decided if isinstance(d, FollowUpDue) and d.reason == "survey_csi")
    assert csi.survey_id is not None
    assert "nps_survey_id" in csi.detail  # the first survey carries the NPS question

    def answer(customer: str, survey_id: str, n: int) -> Event:
        return recorded(
            "SurveyAnswered", customer_id=customer, survey_id=survey_id, score=9, about=str(n)
        )

    (made,) = feed(outreach, answer(CUSTOMER, csi.survey_id, 1))  # the invitation is made
    assert isinstance(made, FollowUpAnswered) and made.follow_up_id == csi.follow_up_id
    rejected = feed(
        outreach,
        answer(CUSTOMER, csi.survey_id, 2),
        answer("c-other", csi.detail["nps_survey_id"], 3),
        answer(CUSTOMER, "sv-nobody-sent-this", 4),
    )
    assert [(r.survey_id, r.why) for r in rejected if isinstance(r, SurveyAnswerRejected)] == [
        (csi.survey_id, "already_answered"),
        (csi.detail["nps_survey_id"], "wrong_customer"),
        ("sv-nobody-sent-this", "unknown_survey"),
    ]


def test_nps_is_asked_at_most_once_per_interval(outreach: Outreach) -> None:
    first = recorded("ServiceCompleted", occurred_at="2026-01-20T10:00:00+08:00")
    second = recorded(
        "ServiceCompleted", repair_order_id="RO-2", occurred_at="2026-03-20T10:00:00+08:00"
    )
    decided = feed(outreach, registered(), first, second)
    csi = [d for d in decided if isinstance(d, FollowUpDue) and d.reason == "survey_csi"]
    assert ["nps_survey_id" in d.detail for d in csi] == [True, False]


def test_wrong_number_flags_the_phone_and_skips_later_calls(outreach: Outreach) -> None:
    decided = feed(
        outreach,
        registered(consent={"marketing": True, "channels": ["phone"]}),
        recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00"),
    )
    week = next(d for d in decided if isinstance(d, FollowUpDue) and d.reason == "purchase_call_7d")
    outcome = recorded(
        "FollowUpCompleted",
        follow_up_id=week.follow_up_id,
        outcome="wrong_number",
        satisfaction=None,
        occurred_at="2026-01-27T10:00:00+08:00",
    )
    decided = feed(outreach, outcome)
    assert [d.phone for d in decided if isinstance(d, PhoneFlagged)] == ["13800138000"]
    skipped = [d for d in decided if isinstance(d, FollowUpSkipped)]
    assert [(s.reason, s.skip_reason) for s in skipped] == [("purchase_call_3m", "wrong_number")]


def test_no_answer_three_times_then_retries_are_exhausted(outreach: Outreach) -> None:
    decided = feed(
        outreach,
        registered(),
        recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00"),
    )
    current = next(
        d for d in decided if isinstance(d, FollowUpDue) and d.reason == "purchase_call_7d"
    )
    root = current.follow_up_id
    for attempt in (2, 3):
        decided = feed(
            outreach,
            recorded(
                "FollowUpCompleted",
                follow_up_id=current.follow_up_id,
                outcome="no_answer",
                satisfaction=None,
                occurred_at=current.due_at.isoformat(),
            ),
        )
        assert len(decided) == 1 and isinstance(decided[0], FollowUpDue)
        assert decided[0].reason == "retry"
        assert decided[0].due_at == current.due_at + timedelta(days=1)
        assert decided[0].detail["attempt"] == str(attempt)
        current = decided[0]
    decided = feed(
        outreach,
        recorded(
            "FollowUpCompleted",
            follow_up_id=current.follow_up_id,
            outcome="no_answer",
            satisfaction=None,
        ),
    )
    assert [(d.follow_up_id, d.skip_reason) for d in decided if isinstance(d, FollowUpSkipped)] == [
        (root, "retries_exhausted")
    ]


def test_opting_out_skips_contacts_planned_for_later(outreach: Outreach) -> None:
    feed(
        outreach,
        registered(),
        recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00"),
    )
    opt_out = recorded(
        "ContactPreferenceChanged",
        opt_out=True,
        channels=None,
        occurred_at="2026-01-21T10:00:00+08:00",
    )
    decided = feed(outreach, opt_out)
    assert sorted((d.reason, d.skip_reason) for d in decided if isinstance(d, FollowUpSkipped)) == [
        ("purchase_call_3m", "opted_out"),
        ("purchase_call_7d", "opted_out"),
    ]
    later = feed(outreach, recorded("ServiceCompleted", occurred_at="2026-01-22T10:00:00+08:00"))
    assert [(d.reason, d.skip_reason) for d in later if isinstance(d, FollowUpSkipped)] == [
        ("survey_csi", "opted_out")
    ]
    assert not [d for d in later if isinstance(d, FollowUpDue)]


def test_merging_folds_plans_and_the_most_restrictive_preference_wins(outreach: Outreach) -> None:
    feed(
        outreach,
        registered("c-a", consent={"marketing": True, "channels": ["phone", "wechat"]}),
        registered(
            "c-b",
            consent={"marketing": False, "channels": ["wechat"]},
            family=[{"relation": "son", "name": "张小", "birthday": "2015-03-03"}],
        ),
        recorded("ContactPreferenceChanged", customer_id="c-b", opt_out=True, channels=["sms"]),
    )
    merged = decision_from(
        "CustomersMerged", customer_id="c-a", survivor_id="c-a", merged_ids=["c-b"]
    )
    feed(outreach, merged)
    survivor = plan_of(outreach, "c-a")
    assert survivor.marketing_consent is False
    assert survivor.channels == ["wechat"]
    # an opt-out without purposes covers every purpose but complaint steps
    assert survivor.blocked == {p: ["sms"] for p in ("marketing", "referral", "service", "survey")}
    assert "birthday:son:张小" in survivor.deadlines
    gone = plan_of(outreach, "c-b")
    assert gone.merged_into == "c-a" and gone.deadlines == {}


def test_a_split_gives_each_plan_its_own_preferences_and_reminders_back(
    outreach: Outreach,
) -> None:
    feed(
        outreach,
        registered("c-a", consent={"marketing": True, "channels": ["phone", "wechat"]}),
        registered("c-b", family=[{"relation": "son", "name": "张小", "birthday": "2015-03-03"}]),
        recorded("ContactPreferenceChanged", customer_id="c-b", opt_out=True, channels=["sms"]),
    )
    merge = decision_from(
        "CustomersMerged", customer_id="c-a", survivor_id="c-a", merged_ids=["c-b"]
    )
    mine = recorded("ContactPreferenceChanged", customer_id="c-a", opt_out=True,
                    channels=["wechat"], purposes=["marketing"])  # fmt: skip
    theirs = recorded(
        "ContactPreferenceChanged",
        customer_id="c-a",
        opt_out=True,
        channels=["phone"],
        purposes=["survey"],
    )  # fmt: skip (B's, while merged)
    feed(outreach, merge, mine, theirs)
    split = decision_from(
        "CustomersUnmerged",
        customer_id="c-a",
        merge_event_id=str(merge.event_id),
        survivor_id="c-a",
        restored_id="c-b",
        reattributed_event_ids=[str(theirs.event_id)],
    )
    feed(outreach, split)

    survivor, restored = plan_of(outreach, "c-a"), plan_of(outreach, "c-b")
    assert restored.merged_into is None and survivor.merged_ids == set()
    assert survivor.blocked == {"marketing": ["wechat"]}, "A's own opt-out only"
    every = ("marketing", "referral", "service", "survey")
    assert restored.blocked == {p: ["phone", "sms"] if p == "survey" else ["sms"] for p in every}
    assert "birthday:son:张小" in restored.deadlines
    assert "birthday:son:张小" not in survivor.deadlines
    assert survivor.marketing_consent is True and survivor.channels == ["phone", "wechat"]
    feed(outreach, split)  # a replayed split changes nothing
    assert plan_of(outreach, "c-b").blocked == restored.blocked


def test_a_split_gives_the_restored_plan_what_its_reattributed_events_brought(
    outreach: Outreach,
) -> None:
    """B's car bought while merged (filed under A) plans its purchase calls and reminders
    under A, and B's complaint pauses A's marketing. After the split they are B's: the car,
    its calls (so B's later opt-out cancels them) and reminders, the open complaint."""
    vin = "LSGKB54E7LS000777"
    feed(outreach, registered("c-a"), registered("c-b"))
    merge = decision_from(
        "CustomersMerged", customer_id="c-a", survivor_id="c-a", merged_ids=["c-b"]
    )
    bought = recorded("VehiclePurchased", customer_id="c-a", vin=vin,
                      occurred_at="2026-01-20T10:00:00+08:00")  # fmt: skip
    filed = recorded("ComplaintFiled", customer_id="c-a", complaint_id="CMP-B-9")
    calls = [d for d in feed(outreach, merge, bought, filed) if isinstance(d, FollowUpDue)]
    assert sorted(d.reason for d in calls) == ["purchase_call_3m", "purchase_call_7d"]
    split = decision_from(
        "CustomersUnmerged",
        customer_id="c-a",
        merge_event_id=str(merge.event_id),
        survivor_id="c-a",
        restored_id="c-b",
        reattributed_event_ids=[str(bought.event_id), str(filed.event_id)],
    )
    feed(outreach, split)

    survivor, restored = plan_of(outreach, "c-a"), plan_of(outreach, "c-b")
    assert vin in restored.vehicles and vin not in survivor.vehicles
    assert {d.follow_up_id for d in calls} <= set(restored.follow_ups)
    assert not {d.follow_up_id for d in calls} & set(survivor.follow_ups)
    assert any(vin in slot for slot in restored.deadlines)
    assert not any(vin in slot for slot in survivor.deadlines)
    assert (restored.open_complaints, survivor.open_complaints) == ({"CMP-B-9"}, set())

    resolved = decision_from("ComplaintResolved", customer_id="c-b", complaint_id="CMP-B-9")
    opt_out = recorded("ContactPreferenceChanged", customer_id="c-b", opt_out=True, channels=None,
                       occurred_at="2026-01-21T10:00:00+08:00")  # fmt: skip
    later = feed(outreach, resolved, opt_out)
    cancelled = [d for d in later if isinstance(d, FollowUpSkipped)]
    assert {(d.follow_up_id, d.skip_reason) for d in cancelled} == {
        (d.follow_up_id, "opted_out") for d in calls
    }, "B's opt-out cancels the calls B's purchase planned"


def test_a_car_sold_on_stops_its_previous_owners_service_reminders(outreach: Outreach) -> None:
    vin = "LSGKB54E7LS123456"
    feed(
        outreach,
        registered("c-a"),
        recorded("VehiclePurchased", customer_id="c-a", vin=vin),
        recorded("VehicleDelivered", customer_id="c-a", vin=vin),
    )
    assert any(vin in slot for slot in plan_of(outreach, "c-a").deadlines)
    sold = decision_from(
        "VehicleOwnershipChanged",
        customer_id="c-b",
        vin=vin,
        previous_owner_id="c-a",
        owner_id="c-b",
        changed_at="2026-02-01T10:00:00+08:00",
    )
    resold = recorded(
        "VehiclePurchased", customer_id="c-b", vin=vin, occurred_at="2026-02-01T10:00:00+08:00"
    )
    feed(outreach, sold, resold)
    assert vin not in plan_of(outreach, "c-a").vehicles
    assert not any(vin in slot for slot in plan_of(outreach, "c-a").deadlines)
    assert vin in plan_of(outreach, "c-b").vehicles


def test_a_deadline_fires_its_greeting_once_and_schedules_the_next(
    outreach: Outreach, clock: ManualClock
) -> None:
    feed(outreach, registered(birthday="1985-06-15", family=[]))
    state = plan_of(outreach)
    key = state.deadlines["birthday:self:张伟"]
    due_at = datetime.fromisoformat(slot_due(key))
    fired = fire(outreach, clock, "birthday:self:张伟")
    greeting = [d for d in fired if isinstance(d, FollowUpDue)]
    assert [(g.reason, g.due_at) for g in greeting] == [("birthday_greeting", due_at)]
    state = plan_of(outreach)
    assert state.deadlines["birthday:self:张伟"] != key
    assert not deadline_pending(outreach, key)


def test_complaint_filed_pauses_and_complaint_resolved_resumes(outreach: Outreach) -> None:
    feed(outreach, registered(), recorded("ComplaintFiled", complaint_id="CP-7"))
    assert plan_of(outreach).open_complaints == {"CP-7"}
    resolved = decision_from(
        "ComplaintResolved", source="complaints", complaint_id="CP-7", customer_id=CUSTOMER
    )
    feed(outreach, resolved)
    assert plan_of(outreach).open_complaints == set()


def test_a_reopened_complaint_pauses_marketing_again(outreach: Outreach) -> None:
    feed(outreach, registered(), recorded("ComplaintFiled", complaint_id="CP-8"))
    made = {"source": "complaints", "complaint_id": "CP-8", "customer_id": CUSTOMER}
    feed(outreach, decision_from("ComplaintResolved", **made))
    assert plan_of(outreach).open_complaints == set()
    feed(outreach, decision_from("ComplaintReopened", **made))
    assert plan_of(outreach).open_complaints == {"CP-8"}
