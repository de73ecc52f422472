"""Complaints and the contact gate, and receipt time (pure rules): the call-back is asked
for, a refusal closes the complaint, a backdated apology counts at its receipt."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from complaints_support import CUSTOMER, T0, at, recorded

from events import FollowUpSkipped
from events.factories import sample_recorded
from services.complaints.aggregates import Complaint
from services.complaints.contacts import callback_refused
from services.complaints.ids import callback_follow_up_id
from services.complaints.rules import callback_completed, decide
from services.complaints.settings import Policy

POLICY = Policy()


def received(event_type: str, happened: timedelta, arrived: timedelta, **fields: Any) -> Any:
    """A step that happened at T0 + `happened` and reached laoke at T0 + `arrived`."""
    event = recorded(event_type, occurred_at=(T0 + happened).isoformat(), **fields)
    return event.model_copy(update={"received_at": T0 + arrived})


def proposed() -> Complaint:
    complaint = decide(None, recorded("ComplaintFiled"), POLICY).complaint
    assert complaint is not None
    for event_type, hours in (
        ("ApologyIssued", 0.2),
        ("ComplaintInvestigated", 0.5),
        ("RemedyProposed", 1),
    ):
        decide(complaint, recorded(event_type, occurred_at=at(hours=hours)), POLICY)
    return complaint


def resolved() -> Complaint:
    complaint = proposed()
    decide(complaint, recorded("RemedyAccepted", occurred_at=at(hours=3)), POLICY)
    return complaint


def refusal(follow_up_id: str, skip_reason: str) -> FollowUpSkipped:
    """What outreach's contact rules record when they refuse the call-back."""
    raw = sample_recorded(
        "FollowUpSkipped",
        event_id=str(uuid4()),
        source="outreach",
        customer_id=CUSTOMER,
        follow_up_id=follow_up_id,
        reason="complaint_callback",
        skip_reason=skip_reason,
        complaint_id="CP-1",
        occurred_at=at(hours=3),
    )
    return FollowUpSkipped.model_validate(raw, context={"trusted": True})


def test_acceptance_asks_the_gate_for_the_callback_instead_of_planning_it() -> None:
    complaint = proposed()
    made = decide(complaint, recorded("RemedyAccepted", occurred_at=at(hours=3)), POLICY)
    assert [d.event_type for d in made.decisions] == ["ComplaintResolved", "ContactRequested"]
    asked = made.decisions[-1]
    assert asked.source == "complaints" and asked.reason == "complaint_callback"
    assert (asked.follow_up_id, asked.channels) == (complaint.follow_up_id, ["phone"])
    assert asked.not_before == T0 + timedelta(hours=3, days=3)  # outreach's rules decide when


@pytest.mark.parametrize(
    ("skip_reason", "outcome"),
    [
        ("opted_out", "opted_out"),
        ("channel_opted_out", "opted_out"),
        ("wrong_number", "unreachable"),
    ],
)
def test_a_refused_callback_closes_the_complaint_with_that_outcome(
    skip_reason: str, outcome: str
) -> None:
    complaint = resolved()
    assert complaint.follow_up_id is not None
    skipped = refusal(complaint.follow_up_id, skip_reason)
    (closed,) = callback_refused(complaint, skipped)
    assert closed.event_type == "ComplaintClosed"
    assert (closed.outcome, closed.satisfaction, closed.follow_up_id) == (
        outcome,
        None,
        complaint.follow_up_id,
    )
    assert closed.causation_id == skipped.event_id
    assert complaint.step == 6 and complaint.closed_at is not None
    assert complaint.not_called == outcome
    assert callback_refused(complaint, skipped) == []  # once


def test_a_refusal_of_an_earlier_attempt_changes_nothing() -> None:
    complaint = resolved()
    first = complaint.follow_up_id
    assert first is not None
    unanswered = recorded(
        "FollowUpCompleted", follow_up_id=first, outcome="no_answer", occurred_at=at(days=3)
    )
    callback_completed(complaint, unanswered, POLICY)
    assert complaint.follow_up_id == callback_follow_up_id(complaint.id, 2)
    assert callback_refused(complaint, refusal(first, "opted_out")) == []
    assert complaint.closed_at is None


def test_a_backdated_apology_counts_at_its_receipt_and_is_overdue() -> None:
    complaint = decide(None, recorded("ComplaintFiled"), POLICY).complaint
    assert complaint is not None and complaint.watched
    late = received("ApologyIssued", timedelta(minutes=30), timedelta(hours=2))
    made: list[Any] = decide(complaint, late, POLICY).decisions
    assert [d.event_type for d in made] == [
        "ComplaintClockSet",
        "ApologyOverdue",
        "ComplaintEscalated",
    ]
    assert complaint.step_times[2] == T0 + timedelta(minutes=30)  # the step as the sender says
    # The hours it took, as complaints records them, count to the receipt too (both clocks:
    # T0 is 18:00 in Shanghai, within opening hours).
    assert (made[0].hours_to_apology, made[0].business_hours_to_apology) == (2.0, 2.0)


def test_an_apology_received_within_15_minutes_counts_at_its_time() -> None:
    complaint = decide(None, recorded("ComplaintFiled"), POLICY).complaint
    assert complaint is not None
    on_time = received("ApologyIssued", timedelta(minutes=50), timedelta(minutes=64))
    (clocks,) = decide(complaint, on_time, POLICY).decisions  # no overdue, no escalation
    assert clocks.hours_to_apology == 50 / 60  # type: ignore[attr-defined]


def test_a_complaint_reported_after_the_fact_counts_its_steps_at_their_time() -> None:
    """History imported (or a batch sent late): laoke never watched it live."""
    filing = received("ComplaintFiled", timedelta(0), timedelta(days=30))
    complaint = decide(None, filing, POLICY).complaint
    assert complaint is not None and not complaint.watched
    apology = received("ApologyIssued", timedelta(minutes=30), timedelta(days=30))
    (clocks,) = decide(complaint, apology, POLICY).decisions  # no overdue, no escalation
    assert clocks.hours_to_apology == 0.5  # type: ignore[attr-defined]
