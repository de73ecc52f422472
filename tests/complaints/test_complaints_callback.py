"""Step 6 when the call-back is not answered: retries, then closed unreachable (pure rules)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

from complaints_support import T0, at, recorded

from services.complaints.aggregates import Complaint
from services.complaints.ids import callback_follow_up_id, complaint_of_callback
from services.complaints.rules import Outcome, callback_completed, decide
from services.complaints.settings import ComplaintSettings, Policy

POLICY = Policy()
RESOLVED_AT = T0 + timedelta(hours=3)


def resolved(policy: Policy = POLICY) -> Complaint:
    """A complaint whose remedy was accepted at T0 + 3 h (first call-back due 3 days later)."""
    filing = decide(None, recorded("ComplaintFiled"), policy)
    complaint = filing.complaint
    assert complaint is not None
    for event_type, hours in (
        ("ApologyIssued", 0.2),
        ("ComplaintInvestigated", 0.5),
        ("RemedyProposed", 1),
        ("RemedyAccepted", 3),
    ):
        decide(complaint, recorded(event_type, occurred_at=at(hours=hours)), policy)
    assert complaint.step == 5 and complaint.follow_up_id is not None
    return complaint


def outcome_of(
    complaint: Complaint, follow_up_id: str, outcome: str, days: float, policy: Policy = POLICY
) -> Outcome:
    """The call-centre reports one attempt's outcome `days` after the resolution."""
    event = recorded(
        "FollowUpCompleted",
        follow_up_id=follow_up_id,
        outcome=outcome,
        satisfaction=7 if outcome == "reached" else None,
        occurred_at=(RESOLVED_AT + timedelta(days=days)).isoformat(),
    )
    return callback_completed(complaint, event, policy)


def made(outcome: Outcome) -> list[Any]:
    return list(outcome.decisions)


def test_an_unanswered_callback_schedules_the_next_attempt_a_day_later() -> None:
    complaint = resolved()
    first = complaint.follow_up_id
    assert first is not None
    outcome = outcome_of(complaint, first, "no_answer", days=3)
    (due,) = made(outcome)
    assert due.event_type == "ContactRequested" and due.reason == "complaint_callback"
    assert due.follow_up_id == callback_follow_up_id(complaint.id, 2) != first
    assert due.not_before == RESOLVED_AT + timedelta(days=4)
    assert (due.channels, due.complaint_id) == (["phone"], "CP-1")
    assert due.detail == {
        "retry_of": first,
        "attempt": "2",
        "max_tries": "3",
        "previous_outcome": "no_answer",
    }
    assert complaint_of_callback(due.follow_up_id) == complaint.id
    assert complaint.step == 5 and complaint.closed_at is None
    assert complaint.follow_up_id == due.follow_up_id and complaint.callback_attempt == 2


def test_a_wrong_number_counts_as_an_unanswered_attempt() -> None:
    complaint = resolved()
    assert complaint.follow_up_id is not None
    outcome = outcome_of(complaint, complaint.follow_up_id, "wrong_number", days=3)
    (due,) = made(outcome)
    assert due.event_type == "ContactRequested"
    assert due.detail["previous_outcome"] == "wrong_number" and due.detail["attempt"] == "2"


def test_after_the_third_unanswered_attempt_step_6_closes_without_satisfaction() -> None:
    complaint = resolved()
    decided: list[Any] = []
    for day in (3, 4, 5):
        assert complaint.follow_up_id is not None
        decided += made(outcome_of(complaint, complaint.follow_up_id, "no_answer", days=day))
    assert [d.event_type for d in decided] == [
        "ContactRequested",
        "ContactRequested",
        "ComplaintClosed",
    ]
    closed = decided[-1]
    assert closed.satisfaction is None and closed.outcome == "unreachable"
    assert closed.follow_up_id == callback_follow_up_id(complaint.id, 3)
    assert closed.occurred_at == RESOLVED_AT + timedelta(days=5)
    assert complaint.step == 6 and complaint.unreachable and complaint.satisfaction is None


def test_a_repeated_report_of_an_attempt_already_retried_adds_no_attempt() -> None:
    complaint = resolved()
    first = complaint.follow_up_id
    assert first is not None
    outcome_of(complaint, first, "no_answer", days=3)
    again = outcome_of(complaint, first, "no_answer", days=3.1)  # a new event id, same attempt
    assert again == Outcome()
    assert complaint.callback_attempt == 2


def test_the_same_report_decides_the_same_retry_ids_on_replay() -> None:
    event = recorded(
        "FollowUpCompleted",
        follow_up_id=callback_follow_up_id(resolved().id),
        outcome="no_answer",
        occurred_at=at(days=3),
    )
    first, replayed = (made(callback_completed(resolved(), event, POLICY)) for _ in range(2))
    assert [(d.event_id, d.follow_up_id) for d in first] == [
        (d.event_id, d.follow_up_id) for d in replayed
    ]
    assert first[0].causation_id == event.event_id


def test_a_late_answer_to_an_earlier_attempt_still_closes_step_6() -> None:
    complaint = resolved()
    first = complaint.follow_up_id
    assert first is not None
    outcome_of(complaint, first, "no_answer", days=3)
    (closed,) = made(outcome_of(complaint, first, "reached", days=3.2))  # they called back
    assert closed.event_type == "ComplaintClosed" and closed.satisfaction == 7
    assert closed.outcome == "reached"
    assert complaint.step == 6 and not complaint.unreachable
    late = outcome_of(complaint, callback_follow_up_id(complaint.id, 2), "no_answer", days=4)
    assert [d.event_type for d in made(late)] == ["ComplaintStepRejected"]


def test_tries_and_retry_delay_are_settings_per_dealership() -> None:
    settings = ComplaintSettings(
        dealerships={
            "once-4s": {"callback_max_tries": 1},
            "slow-4s": {"callback_retry_after": "P2D"},
        }
    )
    once = settings.policy("once-4s")
    complaint = resolved(once)
    assert complaint.follow_up_id is not None
    outcome = outcome_of(complaint, complaint.follow_up_id, "no_answer", days=3, policy=once)
    assert [d.event_type for d in made(outcome)] == ["ComplaintClosed"]
    assert complaint.unreachable

    slow = settings.policy("slow-4s")
    complaint = resolved(slow)
    assert complaint.follow_up_id is not None
    (due,) = made(outcome_of(complaint, complaint.follow_up_id, "no_answer", days=3, policy=slow))
    assert due.not_before == RESOLVED_AT + timedelta(days=5)


def test_only_well_formed_callback_ids_name_a_complaint() -> None:
    complaint_id = uuid4()
    for attempt in (1, 2, 10):
        assert complaint_of_callback(callback_follow_up_id(complaint_id, attempt)) == complaint_id
    first = callback_follow_up_id(complaint_id)
    for bad in (f"{first}-1", f"{first}-0", f"{first}-x", f"{first}2", first[:-1], "fu-1"):
        assert complaint_of_callback(bad) is None, bad
