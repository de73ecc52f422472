"""Contacts answered through another door (docs/outreach.md "Answered elsewhere"): a survey
answer, the referral call-back's answers, a scope-change approval or decline make the open
contact, recorded as `FollowUpAnswered`; an answer to a contact no longer open changes
nothing. Use cases on a real (SQLite) store, and the pure matching."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from events import ContactRequested, Event, FollowUpAnswered, FollowUpDue, FollowUpSkipped
from laoke.clock import ManualClock
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from services.outreach.aggregates import ContactPlan, FollowUp
from services.outreach.answers import door_of, open_among
from services.outreach.application import Outreach
from services.outreach.settings import OutreachSettings
from tests.outreach.helpers import (
    CUSTOMER,
    DEALER,
    deadline_pending,
    decision_from,
    feed,
    fire,
    plan_of,
    recorded,
)

NOW = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
REFEREE = "c-referee"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def registered(customer: str = CUSTOMER) -> Event:
    return recorded("CustomerRegistered", customer_id=customer, occurred_at=NOW.isoformat())


def surveyed(outreach: Outreach) -> FollowUpDue:
    service = recorded("ServiceCompleted", occurred_at="2026-01-20T10:00:00+08:00")
    decided = feed(outreach, registered(), service)
    return next(d for d in decided if isinstance(d, FollowUpDue) and d.reason == "survey_csi")


def survey_answer(survey_id: str, customer: str = CUSTOMER) -> Event:
    return recorded("SurveyAnswered", customer_id=customer, survey_id=survey_id, score=9)


def referral_callback(party_customer: str = CUSTOMER) -> Event:
    return decision_from(
        "ContactRequested",
        customer_id=party_customer,
        source="referrals",
        follow_up_id="rfcb-1",
        reason="referral_callback",
        not_before="2026-01-21T10:00:00+08:00",
        channels=["phone"],
        referral_id="RF-1",
        party="referrer",
    )


def scope_change(repair_order_id: str = "RO-7", follow_up_id: str = "scope-1") -> Event:
    return decision_from(
        "ContactRequested",
        source="workshop",
        follow_up_id=follow_up_id,
        reason="scope_change_contact",
        occurred_at="2026-01-20T11:00:00+08:00",
        not_before="2026-01-20T11:00:00+08:00",
        channels=["phone"],
        detail={"repair_order_id": repair_order_id},
    )


def callback_answered(customer: str) -> Event:
    """The referral call-back's answers, come in on `customer`'s record."""
    return recorded(
        "ReferralCallbackAnswered",
        customer_id=customer,
        referral_id="RF-1",
        questions=[{"correct": True}] * 3,
    )


def merged_into_survivor() -> Event:
    """Intake merged CUSTOMER into c-survivor."""
    return decision_from(
        "CustomersMerged",
        customer_id="c-survivor",
        survivor_id="c-survivor",
        merged_ids=[CUSTOMER],
        source="intake",
    )


def answers_in(decided: list[Event]) -> list[tuple[str, str, str]]:
    return [
        (d.follow_up_id, d.reason, d.answer) for d in decided if isinstance(d, FollowUpAnswered)
    ]


def test_a_survey_answer_makes_its_invitation_and_ends_its_expiry(outreach: Outreach) -> None:
    csi = surveyed(outreach)
    assert csi.survey_id is not None
    key = plan_of(outreach).deadlines[f"expire:{csi.follow_up_id}"]
    answer = survey_answer(csi.survey_id)
    decided = feed(outreach, answer)
    assert answers_in(decided) == [(csi.follow_up_id, "survey_csi", "SurveyAnswered")]
    (made,) = decided
    assert made.causation_id == answer.event_id and made.source == "outreach"
    assert made.customer_id == CUSTOMER and made.occurred_at == answer.occurred_at
    follow_up = plan_of(outreach).follow_ups[csi.follow_up_id]
    assert (follow_up.status, follow_up.outcome) == ("done", "reached")
    assert f"expire:{csi.follow_up_id}" not in plan_of(outreach).deadlines
    assert not deadline_pending(outreach, key)
    # the NPS question riding on the same invitation: counted, but nothing more to make
    assert feed(outreach, survey_answer(csi.detail["nps_survey_id"])) == []


def test_a_survey_answered_while_its_retry_is_open_makes_the_retry(outreach: Outreach) -> None:
    csi = surveyed(outreach)
    assert csi.survey_id is not None
    missed = recorded("FollowUpCompleted", follow_up_id=csi.follow_up_id, outcome="no_answer")
    retry = next(d for d in feed(outreach, missed) if isinstance(d, FollowUpDue))
    decided = feed(outreach, survey_answer(csi.survey_id))
    assert answers_in(decided) == [(retry.follow_up_id, "retry", "SurveyAnswered")]
    state = plan_of(outreach)
    assert state.follow_ups[csi.follow_up_id].outcome == "no_answer"  # the try stays as it was
    assert state.follow_ups[retry.follow_up_id].status == "done"


def test_an_answer_after_the_expiry_changes_nothing(outreach: Outreach, clock: ManualClock) -> None:
    csi = surveyed(outreach)
    assert csi.survey_id is not None
    slot = f"expire:{csi.follow_up_id}"
    fire(outreach, clock, slot)
    assert plan_of(outreach).follow_ups[csi.follow_up_id].status == "expired"
    assert feed(outreach, survey_answer(csi.survey_id)) == []
    assert plan_of(outreach).follow_ups[csi.follow_up_id].status == "expired"


def test_a_rejected_survey_answer_makes_nothing(outreach: Outreach) -> None:
    csi = surveyed(outreach)
    assert csi.survey_id is not None
    decided = feed(outreach, survey_answer(csi.survey_id, customer="c-other"))
    assert answers_in(decided) == []
    assert plan_of(outreach).follow_ups[csi.follow_up_id].status == "due"


def test_the_referral_call_back_answered_on_the_other_party_is_made(outreach: Outreach) -> None:
    """The call went to the referrer; the answers come in on the referee's record."""
    due = feed(outreach, registered(), referral_callback())
    assert [d.follow_up_id for d in due if isinstance(d, FollowUpDue)] == ["rfcb-1"]
    feed(outreach, registered(REFEREE))
    answer = callback_answered(REFEREE)
    decided = feed(outreach, answer)
    assert answers_in(decided) == [("rfcb-1", "referral_callback", "ReferralCallbackAnswered")]
    assert decided[0].customer_id == CUSTOMER  # the contact's customer, not the answer's
    assert plan_of(outreach).follow_ups["rfcb-1"].status == "done"
    assert feed(outreach, answer) == []  # a replay or a second answer: nothing more


def test_the_referral_call_back_answered_after_a_merge_is_made(outreach: Outreach) -> None:
    feed(outreach, registered(), referral_callback())
    merged = merged_into_survivor()
    feed(outreach, registered("c-survivor"), merged)
    answer = callback_answered("c-survivor")
    assert answers_in(feed(outreach, answer)) == [
        ("rfcb-1", "referral_callback", "ReferralCallbackAnswered")
    ]
    assert plan_of(outreach, "c-survivor").follow_ups["rfcb-1"].status == "done"


def test_a_call_back_requested_for_a_customer_merged_since_is_the_survivors(
    outreach: Outreach,
) -> None:
    """Referrals decides at its own pace: its request may name the merged customer after
    intake recorded the merge. The contact is the survivor's, and the answer makes it, as
    when the request came first (the order the services record in is not a cause)."""
    merged = merged_into_survivor()
    feed(outreach, registered(), registered("c-survivor"), merged)
    (due,) = feed(outreach, referral_callback())
    assert isinstance(due, FollowUpDue) and due.customer_id == "c-survivor"
    assert "rfcb-1" in plan_of(outreach, "c-survivor").follow_ups
    answer = callback_answered("c-survivor")
    assert answers_in(feed(outreach, answer)) == [
        ("rfcb-1", "referral_callback", "ReferralCallbackAnswered")
    ]


@pytest.mark.parametrize("answer_type", ["ScopeChangeApproved", "ScopeChangeDeclined"])
def test_a_scope_change_approved_or_declined_is_made(outreach: Outreach, answer_type: str) -> None:
    feed(outreach, registered(), scope_change(), scope_change("RO-8", "scope-other"))
    answer = recorded(answer_type, repair_order_id="RO-7", occurred_at="2026-01-20T12:00:00+08:00")
    decided = feed(outreach, answer)
    assert answers_in(decided) == [("scope-1", "scope_change_contact", answer_type)]
    state = plan_of(outreach)
    assert state.follow_ups["scope-1"].status == "done"
    assert state.follow_ups["scope-other"].status == "due"  # another order's call stays


def test_an_answer_to_a_refused_contact_changes_nothing(outreach: Outreach) -> None:
    opted_out = recorded(
        "ContactPreferenceChanged",
        occurred_at=NOW.isoformat(),
        opt_out=True,
        channels=None,
        purposes=["complaint"],
    )
    decided = feed(outreach, registered(), opted_out, scope_change())
    assert [d.skip_reason for d in decided if isinstance(d, FollowUpSkipped)] == ["opted_out"]
    approval = recorded(
        "ScopeChangeApproved", repair_order_id="RO-7", occurred_at="2026-01-20T12:00:00+08:00"
    )
    assert feed(outreach, approval) == []


def test_only_referral_and_scope_change_calls_have_another_door() -> None:
    def request(reason: str, **fields: object) -> ContactRequested:
        event = decision_from(
            "ContactRequested",
            follow_up_id="x",
            reason=reason,
            not_before=NOW.isoformat(),
            channels=["phone"],
            **fields,
        )
        assert isinstance(event, ContactRequested)
        return event

    assert door_of(request("referral_callback", referral_id="RF-1")) == "referral:RF-1"
    scope = request("scope_change_contact", detail={"repair_order_id": "RO-7"})
    assert door_of(scope) == "repair_order:RO-7"
    assert door_of(request("complaint_callback", complaint_id="CP-1")) is None


def test_open_among_takes_the_open_contacts_and_their_retries() -> None:
    state = ContactPlan(dealership_id=DEALER, customer_id=CUSTOMER)
    for follow_up in (
        FollowUp("fu-a", "survey_csi", NOW, "wechat", "outreach", status="done", root_id="fu-a"),
        FollowUp("fu-b", "retry", NOW, "phone", "outreach", attempt=2, root_id="fu-a"),
        FollowUp("fu-c", "survey_csi", NOW, "wechat", "outreach", root_id="fu-c"),
    ):
        state.plan_follow_up(follow_up.to_dict())
    assert [f.follow_up_id for f in open_among(state, {"fu-a"})] == ["fu-b"]
    assert open_among(state, {"fu-z"}) == []


def test_an_answer_handled_before_its_request_makes_the_contact_all_the_same(
    tmp_path: Path,
) -> None:
    """Workshop records its request at its own pace: the approval may reach outreach first.
    The same decisions follow in either order (a replay or a fault changes nothing)."""
    approval = recorded(
        "ScopeChangeApproved", repair_order_id="RO-7", occurred_at="2026-01-20T11:30:00+08:00"
    )
    decided: dict[str, list[Event]] = {}
    for order in ("request first", "answer first"):
        app = ServiceApplication(LaokeSettings(data_dir=tmp_path / order.replace(" ", "-")), "o")
        outreach = Outreach(app, OutreachSettings(), ManualClock(NOW))
        events = [registered(), scope_change(), approval]
        if order == "answer first":
            events = [registered(), approval, scope_change()]
        decided[order] = [d for d in feed(outreach, *events) if not isinstance(d, FollowUpSkipped)]
        assert plan_of(outreach).follow_ups["scope-1"].status == "done"
        app.close()
    first, later = decided["request first"], decided["answer first"]
    assert answers_in(later) == [("scope-1", "scope_change_contact", "ScopeChangeApproved")]
    assert {(d.event_id, d.occurred_at, d.causation_id) for d in first} == {
        (d.event_id, d.occurred_at, d.causation_id) for d in later
    }


def test_an_answer_given_before_a_contact_was_asked_for_does_not_make_it(
    outreach: Outreach,
) -> None:
    """An approval of an earlier scope change on the same order answers that one only."""
    early = recorded(
        "ScopeChangeApproved", repair_order_id="RO-7", occurred_at="2026-01-20T10:30:00+08:00"
    )
    decided = feed(outreach, registered(), early, scope_change())
    assert [d.follow_up_id for d in decided if isinstance(d, FollowUpDue)] == ["scope-1"]
    assert answers_in(decided) == []
    assert plan_of(outreach).follow_ups["scope-1"].status == "due"
