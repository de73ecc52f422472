"""The complaint rules (docs/domain.md "Complaints and the six steps"), pure: no I/O, no
clock reads.

`decide(complaint, event, policy)` takes the complaint's state (None when unknown) and one
recorded event and returns an `Outcome`: the changed aggregate, the decisions to record and
the deadlines to schedule or cancel. `deadline_passed(...)` does the same for a deadline the
ticker fires. Times are event times (`occurred_at`) or the deadline's own `due_at`, so a
replay decides the same way and decision ids stay deterministic.

Steps: 1 filed, 2 apologised, 3 investigated, 4 remedy proposed, 5 resolved (accepted),
6 closed (call-back made, or the customer unreachable after every attempt). Each step needs
the one before; a rejected remedy, or a call-back that finds the customer dissatisfied
(callbacks.py), goes back to 4. Due times count in the dealership's clock (calendar.py);
escalation is escalations.py.

The complaint's state is the `Complaint` aggregate (aggregates.py); its ids and deadline
keys are in ids.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from events import (
    ApologyIssued,
    ComplaintClockSet,
    ComplaintFiled,
    ComplaintInvestigated,
    ComplaintResolved,
    Event,
    RemedyAccepted,
    RemedyProposed,
    RemedyRefused,
    RemedyRejected,
    backdated,
    counted_at,
)
from laoke.decisions import decision
from services.complaints.aggregates import Complaint
from services.complaints.callbacks import CALL_MADE, callback_completed
from services.complaints.contacts import callback_request
from services.complaints.escalations import apology_overdue, sla_breaches
from services.complaints.ids import (
    APOLOGY,
    GENERAL_MANAGER,
    SLA,
    callback_follow_up_id,
    deadline_key,
)
from services.complaints.outcomes import SERVICE, DeadlineSpec, Outcome, rejected
from services.complaints.settings import Policy

__all__ = [
    "CALL_MADE",
    "SERVICE",
    "STEP_TYPES",
    "DeadlineSpec",
    "Outcome",
    "callback_completed",
    "deadline_passed",
    "decide",
]

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


def _reject(complaint: Complaint | None, event: ComplaintStep, why: str) -> Outcome:
    return rejected(complaint, event, event.complaint_id, why)


def _hours(duration: timedelta) -> float:
    return round(duration.total_seconds() / 3600, 4)


def _clock_set(complaint: Complaint, cause: Event, **extra: Any) -> Event:
    """The complaint's clocks as they stand (recorded at filing, again when one stops)."""
    return decision(
        ComplaintClockSet,
        cause,
        source=SERVICE,
        occurred_at=cause.occurred_at,
        name="clocks",
        customer_id=complaint.customer_id,
        complaint_id=complaint.complaint_id,
        clock=complaint.clock,
        apology_due_at=complaint.apology_due_at,
        sla_due_at=complaint.sla_due_at,
        general_manager_due_at=complaint.general_manager_due_at,
        **extra,
    )


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
    at, clocks, sla = event.occurred_at, policy.clocks(), policy.sla_for(event.severity)
    sla_due_at = clocks.due(at, sla)
    at_once = event.severity in policy.general_manager_at_once
    filed = Complaint(
        dealership_id=event.dealership_id,
        complaint_id=event.complaint_id,
        customer_id=event.customer_id,
        category=event.category,
        severity=event.severity,
        filed_at=at,
        filed_event_id=event.event_id,
        correlation_id=event.correlation_id or event.event_id,
        apology_due_at=clocks.due(at, policy.apology_within),
        sla_due_at=sla_due_at,
        general_manager_due_at=(
            sla_due_at if at_once else clocks.due(at, sla * policy.general_manager_after)
        ),
        clock=policy.clock,
        watched=not backdated(event),
    )
    ref = str(filed.id)
    clock_set = _clock_set(
        filed, event, apology_within_hours=_hours(policy.apology_within), sla_hours=_hours(sla)
    )
    schedule = [
        DeadlineSpec(deadline_key(filed.id, APOLOGY), APOLOGY, ref, filed.apology_due_at),
        DeadlineSpec(deadline_key(filed.id, SLA), SLA, ref, filed.sla_due_at),
    ]
    if filed.general_manager_due_at != filed.sla_due_at:  # else the SLA deadline does both
        gm = filed.general_manager_due_at
        assert gm is not None
        schedule.append(
            DeadlineSpec(deadline_key(filed.id, GENERAL_MANAGER), GENERAL_MANAGER, ref, gm)
        )
    return Outcome(complaint=filed, decisions=[clock_set], schedule=schedule)


def _apology(complaint: Complaint, event: ApologyIssued, policy: Policy) -> Outcome:
    if complaint.apologised_at is not None:
        return _reject(complaint, event, "already_apologised: an apology was recorded before")
    complaint.apologise(at=event.occurred_at, issued_by=event.issued_by)
    # The figure staff are paid by: a backdated apology counts at its receipt
    # (events/timing.py), for the overdue check and for the hours it took alike.
    counted = counted_at(event, complaint.watched)
    hours, business = policy.clocks().elapsed(complaint.filed_at, counted)
    decisions = [
        _clock_set(complaint, event, hours_to_apology=hours, business_hours_to_apology=business)
    ]
    if counted > complaint.apology_due_at:
        decisions += apology_overdue(complaint, policy)
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
    # A resolution's call-backs continue the numbering of any earlier (reopened) one's.
    follow_up_id = callback_follow_up_id(complaint.id, len(complaint.callback_ids) + 1)
    callback_due_at = at + policy.callback_after
    remedy = complaint.pending_remedy
    # Resolved late by event time: the breaches the deadlines would have recorded still count.
    decisions = sla_breaches(complaint, at, inclusive=False)
    complaint.resolve(at=at, follow_up_id=follow_up_id, callback_due_at=callback_due_at)
    hours, business = policy.clocks().elapsed(complaint.filed_at, at)
    decisions.append(
        decision(
            ComplaintResolved,
            event,
            source=SERVICE,
            occurred_at=at,
            customer_id=complaint.customer_id,
            complaint_id=complaint.complaint_id,
            resolved_at=at,
            hours_to_resolution=hours,
            business_hours_to_resolution=business,
            within_sla=at <= complaint.sla_due_at,
        )
    )
    detail = {"remedy": str(remedy["remedy"]), "amount_cny": str(remedy["amount_cny"])}
    decisions.append(
        callback_request(complaint, event, follow_up_id, callback_due_at, policy, detail)
    )
    # The SLA deadlines stay until the close: a dissatisfied call-back reopens the complaint.
    return Outcome(complaint, decisions, cancel=[deadline_key(complaint.id, APOLOGY)])


def _rejected(complaint: Complaint, event: RemedyRejected) -> Outcome:
    if complaint.pending_remedy is None:
        return _reject(complaint, event, "no_remedy_proposed: nothing to reject")
    complaint.reject_remedy(at=event.occurred_at)
    return Outcome(complaint)


# -- deadlines --------------------------------------------------------------------------------


def deadline_passed(
    complaint: Complaint | None, kind: str, due_at: datetime, policy: Policy
) -> Outcome:
    """A deadline's due time passed (by the clock); decisions are dated at their due times."""
    if complaint is None or complaint.closed_at is not None:
        return Outcome()
    if kind == APOLOGY and complaint.apologised_at is None:
        return Outcome(complaint, apology_overdue(complaint, policy))
    if kind in (SLA, GENERAL_MANAGER) and not complaint.resolved:
        return Outcome(complaint, sla_breaches(complaint, due_at, inclusive=True))
    return Outcome()
