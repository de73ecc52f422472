"""Step 6, the call-back (docs/complaints.md "Step 6: the call-back"), pure.

`callback_completed(complaint, event, policy)` decides on the outcome of one call-back
attempt: a satisfied customer closes the complaint; a dissatisfied one (satisfaction at most
`callback_dissatisfied_max`, or `declined`) reopens it at step 4 and escalates it; an
unanswered attempt is tried again, up to `callback_max_tries`, then the complaint closes as
unreachable. Each resolution has its own call-back attempts; an outcome of an attempt of a
resolution that was since reopened changes nothing.
"""

from __future__ import annotations

from typing import Literal

from events import ComplaintClosed, ComplaintReopened, Event, FollowUpCompleted
from laoke.decisions import decision
from services.complaints.aggregates import Complaint
from services.complaints.contacts import callback_request
from services.complaints.escalations import dissatisfied
from services.complaints.ids import GENERAL_MANAGER, SLA, callback_follow_up_id, deadline_key
from services.complaints.outcomes import SERVICE, Outcome, rejected
from services.complaints.settings import Policy

CallbackOutcome = Literal["reached", "declined", "unreachable"]
CALL_MADE = ("reached", "declined")  # the call-back happened: step 6 closes or reopens


def is_dissatisfied(event: FollowUpCompleted, policy: Policy) -> bool:
    """Declined, or a satisfaction at most the setting. A call that reached the customer
    and recorded no satisfaction is not taken for dissatisfaction."""
    if event.outcome == "declined":
        return True
    return event.satisfaction is not None and event.satisfaction <= policy.callback_dissatisfied_max


def callback_completed(complaint: Complaint, event: FollowUpCompleted, policy: Policy) -> Outcome:
    """Step 6: the outcome of one call-back attempt."""
    if event.follow_up_id not in complaint.callback_ids:
        return Outcome()  # not this complaint's call-back
    if complaint.closed_at is not None:
        return rejected(
            complaint,
            event,
            complaint.complaint_id,
            "already_closed: the call-back was recorded before",
        )
    if event.follow_up_id not in complaint.round_callbacks:
        return Outcome()  # a call-back of a resolution the customer has since rejected
    if event.outcome in CALL_MADE:
        if is_dissatisfied(event, policy):
            return _reopened(complaint, event)
        complaint.close(at=event.occurred_at, satisfaction=event.satisfaction)
        made: CallbackOutcome = "reached" if event.outcome == "reached" else "declined"
        return closing(complaint, [_closed(complaint, event, event.satisfaction, made)])
    if event.follow_up_id != complaint.follow_up_id:
        return Outcome()  # an earlier attempt's outcome; its retry is already scheduled
    if complaint.callback_attempt < policy.callback_max_tries:
        return _retry_callback(complaint, event, policy)
    complaint.close_unreachable(at=event.occurred_at)
    return closing(complaint, [_closed(complaint, event, None, "unreachable")])


def closing(complaint: Complaint, decisions: list[Event]) -> Outcome:
    """Closed: its SLA deadlines, kept through the resolution for a reopening, go."""
    cancel = [deadline_key(complaint.id, SLA), deadline_key(complaint.id, GENERAL_MANAGER)]
    return Outcome(complaint, decisions, cancel=cancel)


def _reopened(complaint: Complaint, event: FollowUpCompleted) -> Outcome:
    escalated = dissatisfied(complaint, event)  # the level before the reopening counts
    complaint.reopen(
        at=event.occurred_at, follow_up_id=event.follow_up_id, satisfaction=event.satisfaction
    )
    reopened = decision(
        ComplaintReopened,
        event,
        source=SERVICE,
        occurred_at=event.occurred_at,
        customer_id=complaint.customer_id,
        complaint_id=complaint.complaint_id,
        follow_up_id=event.follow_up_id,
        outcome="declined" if event.outcome == "declined" else "reached",
        satisfaction=event.satisfaction,
    )
    return Outcome(complaint, [reopened, *escalated])


def _closed(
    complaint: Complaint,
    event: FollowUpCompleted,
    satisfaction: int | None,
    outcome: CallbackOutcome,
) -> Event:
    return decision(
        ComplaintClosed,
        event,
        source=SERVICE,
        occurred_at=event.occurred_at,
        customer_id=complaint.customer_id,
        complaint_id=complaint.complaint_id,
        satisfaction=satisfaction,
        follow_up_id=event.follow_up_id,
        outcome=outcome,
    )


def _retry_callback(complaint: Complaint, event: FollowUpCompleted, policy: Policy) -> Outcome:
    attempt = complaint.callback_attempt + 1
    follow_up_id = callback_follow_up_id(complaint.id, len(complaint.callback_ids) + 1)
    due_at = event.occurred_at + policy.callback_retry_after
    detail = {
        "retry_of": complaint.round_callbacks[0],
        "attempt": str(attempt),
        "max_tries": str(policy.callback_max_tries),
        "previous_outcome": event.outcome,
    }
    complaint.retry_callback(at=event.occurred_at, follow_up_id=follow_up_id, due_at=due_at)
    return Outcome(
        complaint, [callback_request(complaint, event, follow_up_id, due_at, policy, detail)]
    )
