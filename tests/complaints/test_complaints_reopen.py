"""Step 6 that listens (docs/complaints.md "Step 6: the call-back"), pure rules: only a
satisfied customer closes the complaint; satisfaction 6 or lower, or `declined`, reopens it
at step 4 and escalates it one level. Every hour counts here (calendar clock, medium
severity: SLA 48 h, general manager at 96 h) to keep the times plain."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from complaints_support import T0, at, recorded

from services.complaints.aggregates import Complaint
from services.complaints.ids import GENERAL_MANAGER, SLA, callback_follow_up_id, deadline_key
from services.complaints.rules import Outcome, callback_completed, deadline_passed, decide
from services.complaints.settings import Policy

POLICY = Policy(clock="calendar")


def at_hours(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def types(outcome: Outcome) -> list[str]:
    return [d.event_type for d in outcome.decisions]


def resolved_complaint(hours: float = 3) -> Complaint:
    complaint = decide(None, recorded("ComplaintFiled", severity="medium"), POLICY).complaint
    assert complaint is not None
    for event_type, when in (
        ("ApologyIssued", 0.2),
        ("ComplaintInvestigated", 0.5),
        ("RemedyProposed", 1),
        ("RemedyAccepted", hours),
    ):
        decide(complaint, recorded(event_type, occurred_at=at(hours=when)), POLICY)
    assert complaint.resolved
    return complaint


def call_back(
    complaint: Complaint, outcome: str = "reached", satisfaction: int | None = 9, hours: float = 80
) -> Outcome:
    assert complaint.follow_up_id is not None
    event = recorded(
        "FollowUpCompleted",
        follow_up_id=complaint.follow_up_id,
        outcome=outcome,
        satisfaction=satisfaction,
        occurred_at=at(hours=hours),
    )
    return callback_completed(complaint, event, POLICY)


def resolve_again(complaint: Complaint, hours: float) -> Outcome:
    decide(complaint, recorded("RemedyProposed", occurred_at=at(hours=hours - 1)), POLICY)
    return decide(complaint, recorded("RemedyAccepted", occurred_at=at(hours=hours)), POLICY)


def escalated(outcome: Outcome) -> list[tuple[str, int]]:
    found: list[Any] = [d for d in outcome.decisions if d.event_type == "ComplaintEscalated"]
    return [(e.why, e.level) for e in found]


@pytest.mark.parametrize("satisfaction", [7, 10, None])
def test_a_satisfied_customer_closes_the_complaint_and_its_sla_deadlines_go(
    satisfaction: int | None,
) -> None:
    complaint = resolved_complaint()
    outcome = call_back(complaint, satisfaction=satisfaction)
    assert types(outcome) == ["ComplaintClosed"] and complaint.step == 6
    assert set(outcome.cancel) == {deadline_key(complaint.id, k) for k in (SLA, GENERAL_MANAGER)}


@pytest.mark.parametrize(
    ("outcome", "satisfaction"), [("reached", 6), ("reached", 2), ("declined", None)]
)
def test_a_dissatisfied_customer_reopens_the_complaint_at_step_4_and_it_escalates(
    outcome: str, satisfaction: int | None
) -> None:
    complaint = resolved_complaint()
    decided = call_back(complaint, outcome, satisfaction)
    assert types(decided) == ["ComplaintReopened", "ComplaintEscalated"]
    reopened: Any = decided.decisions[0]
    assert (reopened.outcome, reopened.satisfaction) == (outcome, satisfaction)
    assert reopened.follow_up_id == callback_follow_up_id(complaint.id)
    assert escalated(decided) == [("callback_dissatisfied", 1)]
    assert decided.decisions[1].occurred_at == at_hours(80)  # at the call-back, not a due time
    assert complaint.step == 4 and not complaint.resolved and complaint.closed_at is None
    assert complaint.remedies[-1]["status"] == "reopened" and complaint.pending_remedy is None
    assert 5 not in complaint.step_times


def test_after_a_reopening_a_new_remedy_resolves_it_again_with_a_new_callback() -> None:
    complaint = resolved_complaint()
    first_callback = complaint.follow_up_id
    call_back(complaint, satisfaction=3)
    again = resolve_again(complaint, hours=90)
    # No SLA escalation: the SLA came while the first resolution stood.
    assert types(again) == ["ComplaintResolved", "ContactRequested"]
    resolved: Any = again.decisions[0]
    # Counted from the filing; the first resolution was in time, this one is not.
    assert resolved.hours_to_resolution == 90 and resolved.within_sla is False
    callback: Any = again.decisions[1]
    assert callback.follow_up_id == callback_follow_up_id(complaint.id, 2) != first_callback
    satisfied = call_back(complaint, satisfaction=8, hours=170)
    assert types(satisfied) == ["ComplaintClosed"]


def test_a_due_time_the_first_resolution_met_is_not_a_breach_after_the_reopening() -> None:
    complaint = resolved_complaint()  # resolved at 3 h, within the 48 h SLA
    assert deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY).decisions == []
    call_back(complaint, satisfaction=4)  # reopened at 80 h: the manager has it
    again = resolve_again(complaint, hours=90)
    assert escalated(again) == []


def test_still_unresolved_at_twice_the_sla_after_a_reopening_the_general_manager_has_it() -> None:
    complaint = resolved_complaint()
    reopened = call_back(complaint, satisfaction=5, hours=80)
    assert escalated(reopened) == [("callback_dissatisfied", 1)]
    gm_due = complaint.general_manager_due_at
    assert gm_due is not None and gm_due == at_hours(96)
    fired = deadline_passed(complaint, GENERAL_MANAGER, gm_due, POLICY)
    assert escalated(fired) == [("sla_breached", 2)]


def test_each_level_once_a_second_dissatisfied_callback_goes_to_the_general_manager() -> None:
    complaint = resolved_complaint()
    assert escalated(call_back(complaint, satisfaction=4, hours=80)) == [
        ("callback_dissatisfied", 1)
    ]
    resolve_again(complaint, hours=85)
    assert escalated(call_back(complaint, "declined", None, hours=90)) == [
        ("callback_dissatisfied", 2)
    ]
    resolve_again(complaint, hours=95)
    third = call_back(complaint, satisfaction=1, hours=100)
    assert types(third) == ["ComplaintReopened"]  # both levels have it already
    assert complaint.reopenings[-1]["satisfaction"] == 1 and len(complaint.reopenings) == 3


def test_a_complaint_the_manager_already_has_goes_to_the_general_manager_when_reopened() -> None:
    complaint = decide(None, recorded("ComplaintFiled", severity="medium"), POLICY).complaint
    assert complaint is not None
    deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY)  # unresolved at 48 h
    for event_type, when in (
        ("ApologyIssued", 49),
        ("ComplaintInvestigated", 50),
        ("RemedyProposed", 51),
        ("RemedyAccepted", 52),
    ):
        decide(complaint, recorded(event_type, occurred_at=at(hours=when)), POLICY)
    assert escalated(call_back(complaint, satisfaction=6, hours=60)) == [
        ("callback_dissatisfied", 2)
    ]


def test_an_outcome_of_a_callback_of_a_reopened_resolution_changes_nothing() -> None:
    complaint = resolved_complaint()
    old = complaint.follow_up_id
    call_back(complaint, satisfaction=2)
    late = recorded("FollowUpCompleted", follow_up_id=old, outcome="reached", satisfaction=9)
    assert callback_completed(complaint, late, POLICY) == Outcome()
    assert complaint.closed_at is None and complaint.step == 4


def test_retries_count_again_for_the_new_resolutions_callback() -> None:
    complaint = resolved_complaint()
    call_back(complaint, satisfaction=2)
    resolve_again(complaint, hours=90)
    retry = call_back(complaint, "no_answer", None, hours=170)
    (due,) = retry.decisions
    assert due.event_type == "ContactRequested"
    assert due.detail["attempt"] == "2"  # type: ignore[attr-defined]
    assert due.detail["retry_of"] == callback_follow_up_id(complaint.id, 2)  # type: ignore[attr-defined]
    assert due.follow_up_id == callback_follow_up_id(complaint.id, 3)  # type: ignore[attr-defined]
