"""The complaint rules (docs/domain.md "Complaints and the six steps"), pure: no I/O, no
clock reads.

`decide(complaint, event, policy)` takes the complaint's state (None when unknown) and one
recorded event and returns an `Outcome`: the changed aggregate, the decisions to record and
the deadlines to schedule or cancel. `deadline_passed(...)` does the same for a deadline the
ticker fires. Times are event times (`occurred_at`) or the deadline's own `due_at`, so a
replay decides the same way and decision ids stay deterministic.

Steps: 1 filed, 2 apologised, 3 investigated, 4 remedy proposed, 5 resolved (accepted),
6 closed (call-back made, or the customer unreachable after every attempt). Each step needs
the one before; a rejected remedy goes back to 4.

The complaint's state is the `Complaint` aggregate (aggregates.py); its ids and deadline
keys are in ids.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from events import (
    ApologyIssued,
    ApologyOverdue,
    ComplaintClockSet,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintInvestigated,
    ComplaintResolved,
    ComplaintStepRejected,
    Event,
    FollowUpCompleted,
    RemedyAccepted,
    RemedyProposed,
    RemedyRefused,
    RemedyRejected,
    backdated,
    counted_at,
)
from laoke.decisions import decision
from services.complaints.aggregates import Complaint, hours_between
from services.complaints.contacts import callback_request
from services.complaints.ids import APOLOGY, SLA, callback_follow_up_id, deadline_key
from services.complaints.settings import Policy

SERVICE = "complaints"

ComplaintStep = (
    ComplaintFiled
    | ApologyIssued
    | ComplaintInvestigated
    | RemedyProposed
    | RemedyAccepted
    | RemedyRejected
)
STEP_TYPES = (
    ComplaintFiled,
    ApologyIssued,
    ComplaintInvestigated,
    RemedyProposed,
    RemedyAccepted,
    RemedyRejected,
)


# -- outcomes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineSpec:
    key: str
    kind: str
    ref: str
    due_at: datetime


@dataclass
class Outcome:
    """What one event or deadline changes; empty when it changes nothing."""

    complaint: Complaint | None = None
    decisions: list[Event] = field(default_factory=list)
    schedule: list[DeadlineSpec] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)


def _reject(complaint: Complaint | None, event: ComplaintStep, why: str) -> Outcome:
    """Record the step as rejected; the complaint is left as it was."""
    rejected = decision(
        ComplaintStepRejected,
        event,
        source=SERVICE,
        occurred_at=event.occurred_at,
        customer_id=complaint.customer_id if complaint is not None else None,
        complaint_id=event.complaint_id,
        attempted=event.event_type,
        why=why,
    )
    return Outcome(decisions=[rejected])


def _escalation(complaint: Complaint, why: str, at: datetime, policy: Policy) -> Event:
    complaint.escalate(at=at, why=why)
    return decision(
        ComplaintEscalated,
        complaint.cause,
        source=SERVICE,
        occurred_at=at,
        name=why,
        complaint_id=complaint.complaint_id,
        escalated_to=policy.escalate_to,
        why=why,
    )


def _apology_overdue(complaint: Complaint, policy: Policy) -> list[Event]:
    """The apology came (or will come) after its due time: record it and escalate, once.
    The same decisions (same ids) whether a deadline or a late apology notices it first."""
    if complaint.apology_overdue:
        return []
    due = complaint.apology_due_at
    complaint.mark_apology_overdue()
    overdue = decision(
        ApologyOverdue,
        complaint.cause,
        source=SERVICE,
        occurred_at=due,
        complaint_id=complaint.complaint_id,
        due_at=due,
    )
    return [overdue, _escalation(complaint, "apology_overdue", due, policy)]


def _sla_breached(complaint: Complaint, policy: Policy) -> list[Event]:
    if "sla_breached" in complaint.escalations:
        return []
    return [_escalation(complaint, "sla_breached", complaint.sla_due_at, policy)]


# -- the steps --------------------------------------------------------------------------------


def decide(complaint: Complaint | None, event: ComplaintStep, policy: Policy) -> Outcome:
    """Apply one complaint step to the complaint's state (None: not filed)."""
    if isinstance(event, ComplaintFiled):
        return _filed(complaint, event, policy)
    if complaint is None:
        return _reject(None, event, "unknown_complaint: no complaint filed with this id")
    if complaint.closed_at is not None:
        return _reject(complaint, event, "already_closed: the complaint is closed")
    if isinstance(event, ApologyIssued):
        return _apology(complaint, event, policy)
    if complaint.resolved:
        return _reject(complaint, event, "already_resolved: the customer accepted a remedy")
    if isinstance(event, ComplaintInvestigated):
        return _investigated(complaint, event)
    if isinstance(event, RemedyProposed):
        return _proposed(complaint, event, policy)
    if isinstance(event, RemedyAccepted):
        return _accepted(complaint, event, policy)
    return _rejected(complaint, event)


def _filed(complaint: Complaint | None, event: ComplaintFiled, policy: Policy) -> Outcome:
    if complaint is not None:
        return _reject(complaint, event, "already_filed: a complaint with this id exists")
    assert event.customer_id is not None, "recorded events carry the customer id"
    filed = Complaint(
        dealership_id=event.dealership_id,
        complaint_id=event.complaint_id,
        customer_id=event.customer_id,
        category=event.category,
        severity=event.severity,
        filed_at=event.occurred_at,
        filed_event_id=event.event_id,
        correlation_id=event.correlation_id or event.event_id,
        apology_due_at=event.occurred_at + policy.apology_within,
        sla_due_at=event.occurred_at + policy.sla,
        watched=not backdated(event),
    )
    ref = str(filed.id)
    clocks = decision(
        ComplaintClockSet,
        event,
        source=SERVICE,
        occurred_at=event.occurred_at,
        name="clocks",
        customer_id=filed.customer_id,
        complaint_id=filed.complaint_id,
        apology_due_at=filed.apology_due_at,
        sla_due_at=filed.sla_due_at,
    )
    return Outcome(
        complaint=filed,
        decisions=[clocks],
        schedule=[
            DeadlineSpec(deadline_key(filed.id, APOLOGY), APOLOGY, ref, filed.apology_due_at),
            DeadlineSpec(deadline_key(filed.id, SLA), SLA, ref, filed.sla_due_at),
        ],
    )


def _apology(complaint: Complaint, event: ApologyIssued, policy: Policy) -> Outcome:
    if complaint.apologised_at is not None:
        return _reject(complaint, event, "already_apologised: an apology was recorded before")
    complaint.apologise(at=event.occurred_at, issued_by=event.issued_by)
    decisions = []
    if counted_at(event, complaint.watched) > complaint.apology_due_at:  # backdated: receipt
        decisions = _apology_overdue(complaint, policy)
    return Outcome(complaint, decisions, cancel=[deadline_key(complaint.id, APOLOGY)])


def _investigated(complaint: Complaint, event: ComplaintInvestigated) -> Outcome:
    if complaint.apologised_at is None:
        return _reject(complaint, event, "not_apologised: step 2 (apology) comes first")
    complaint.investigate(at=event.occurred_at, answers=event.answers.model_dump())
    return Outcome(complaint)


def _proposed(complaint: Complaint, event: RemedyProposed, policy: Policy) -> Outcome:
    if complaint.answers is None:
        return _reject(complaint, event, "not_investigated: step 3 (investigation) comes first")
    details: dict[str, Any] = {
        "at": event.occurred_at,
        "remedy": event.remedy,
        "amount_cny": event.amount_cny,
        "proposed_by": event.proposed_by,
        "role": event.role,
    }
    limit = policy.limit(event.role)
    if limit is None or event.amount_cny <= limit:
        complaint.propose_remedy(**details)
        return Outcome(complaint)
    complaint.refuse_remedy(**details)
    refused = decision(
        RemedyRefused,
        event,
        source=SERVICE,
        occurred_at=event.occurred_at,
        customer_id=complaint.customer_id,
        complaint_id=complaint.complaint_id,
        remedy=event.remedy,
        amount_cny=event.amount_cny,
        role=event.role,
        limit_cny=limit,
        why=(
            f"above_authority: {event.amount_cny} CNY exceeds the {event.role} limit of "
            f"{limit} CNY; a higher role must propose it"
        ),
    )
    return Outcome(complaint, [refused])


def _accepted(complaint: Complaint, event: RemedyAccepted, policy: Policy) -> Outcome:
    if complaint.pending_remedy is None:
        return _reject(complaint, event, "no_remedy_proposed: nothing to accept")
    at = event.occurred_at
    follow_up_id = callback_follow_up_id(complaint.id)
    callback_due_at = at + policy.callback_after
    remedy = complaint.pending_remedy
    decisions: list[Event] = []
    if at > complaint.sla_due_at:  # resolved late by event time: the SLA breach still counts
        decisions += _sla_breached(complaint, policy)
    complaint.resolve(at=at, follow_up_id=follow_up_id, callback_due_at=callback_due_at)
    decisions.append(
        decision(
            ComplaintResolved,
            event,
            source=SERVICE,
            occurred_at=at,
            customer_id=complaint.customer_id,
            complaint_id=complaint.complaint_id,
            resolved_at=at,
            hours_to_resolution=hours_between(complaint.filed_at, at),
            within_sla=at <= complaint.sla_due_at,
        )
    )
    detail = {"remedy": str(remedy["remedy"]), "amount_cny": str(remedy["amount_cny"])}
    decisions.append(
        callback_request(complaint, event, follow_up_id, callback_due_at, policy, detail)
    )
    cancel = [deadline_key(complaint.id, APOLOGY), deadline_key(complaint.id, SLA)]
    return Outcome(complaint, decisions, cancel=cancel)


def _rejected(complaint: Complaint, event: RemedyRejected) -> Outcome:
    if complaint.pending_remedy is None:
        return _reject(complaint, event, "no_remedy_proposed: nothing to reject")
    complaint.reject_remedy(at=event.occurred_at)
    return Outcome(complaint)


CallbackOutcome = Literal["reached", "declined", "unreachable"]
CALL_MADE = ("reached", "declined")  # the call-back happened: step 6 closes


def callback_completed(complaint: Complaint, event: FollowUpCompleted, policy: Policy) -> Outcome:
    """Step 6: the outcome of one call-back attempt.

    `reached` or `declined` (of any attempt) closes the complaint with the satisfaction.
    `no_answer` or `wrong_number` of the latest attempt schedules the next attempt
    `callback_retry_after` later; when it was attempt `callback_max_tries`, the complaint
    closes without satisfaction (unreachable). An outcome of an earlier attempt that was
    already retried changes nothing, so a repeated report never adds an attempt.
    """
    if event.follow_up_id not in complaint.callback_ids:
        return Outcome()  # not this complaint's call-back
    if complaint.closed_at is not None:
        rejected = decision(
            ComplaintStepRejected,
            event,
            source=SERVICE,
            occurred_at=event.occurred_at,
            customer_id=complaint.customer_id,
            complaint_id=complaint.complaint_id,
            attempted=event.event_type,
            why="already_closed: the call-back was recorded before",
        )
        return Outcome(decisions=[rejected])
    if event.outcome in CALL_MADE:
        complaint.close(at=event.occurred_at, satisfaction=event.satisfaction)
        made: CallbackOutcome = "reached" if event.outcome == "reached" else "declined"
        return Outcome(complaint, [_closed(complaint, event, event.satisfaction, made)])
    if event.follow_up_id != complaint.follow_up_id:
        return Outcome()  # an earlier attempt's outcome; its retry is already scheduled
    if complaint.callback_attempt < policy.callback_max_tries:
        return _retry_callback(complaint, event, policy)
    complaint.close_unreachable(at=event.occurred_at)
    return Outcome(complaint, [_closed(complaint, event, None, "unreachable")])


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
    follow_up_id = callback_follow_up_id(complaint.id, attempt)
    due_at = event.occurred_at + policy.callback_retry_after
    complaint.retry_callback(at=event.occurred_at, follow_up_id=follow_up_id, due_at=due_at)
    detail = {
        "retry_of": complaint.callback_ids[0],
        "attempt": str(attempt),
        "max_tries": str(policy.callback_max_tries),
        "previous_outcome": event.outcome,
    }
    return Outcome(
        complaint, [callback_request(complaint, event, follow_up_id, due_at, policy, detail)]
    )


# -- deadlines --------------------------------------------------------------------------------


def deadline_passed(complaint: Complaint | None, kind: str, policy: Policy) -> Outcome:
    """A deadline's due time passed (by the clock); decisions are dated at its due time."""
    if complaint is None:
        return Outcome()
    if kind == APOLOGY and complaint.apologised_at is None:
        return Outcome(complaint, _apology_overdue(complaint, policy))
    if kind == SLA and not complaint.resolved:
        return Outcome(complaint, _sla_breached(complaint, policy))
    return Outcome()
