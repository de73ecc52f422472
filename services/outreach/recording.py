"""Recording what the contact rules decided: `FollowUpDue` for a contact to make,
`FollowUpSkipped` for one that will not be made, kept in the plan in the same change.

A contact another service requested keeps that service's `follow_up_id` and is recorded as
caused by the `ContactRequested`; a refusal of it is named by the request too, so it has
one id whether the rules refuse it at once or later (an opt-out, a wrong number).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from events import Event, FollowUpDue, FollowUpSkipped
from events import follow_up_id as follow_up_id_for
from events import survey_id as survey_id_for
from laoke.decisions import Cause, CauseLike, decision
from laoke.merges import follow_up_origin
from laoke.work import UnitOfWork
from services.outreach.aggregates import ContactPlan, FollowUp, Survey
from services.outreach.planner import PlannedContact
from services.outreach.rules import Admitted, Skipped
from services.outreach.settings import Policy

SERVICE = "outreach"


def follow_up_of(cause: CauseLike, contact: PlannedContact) -> str:
    if contact.request is not None:
        return contact.request.follow_up_id
    return contact.root_id or follow_up_id_for(cause.event_id, contact.name)


def record_due(
    state: ContactPlan,
    cause: CauseLike,
    admitted: Admitted,
    work: UnitOfWork,
    occurred: datetime,
    policy: Policy,
) -> None:
    contact = admitted.contact
    request = contact.request
    if request is not None:
        cause = request
    follow_up_id = (
        request.follow_up_id
        if request is not None
        else follow_up_id_for(cause.event_id, contact.name)
    )
    extra: dict[str, Any] = {}
    if request is not None:
        extra = {"complaint_id": request.complaint_id, "referral_id": request.referral_id}
        extra["party"] = request.party
    detail = dict(contact.detail)
    if contact.survey_kind is not None:
        due_at = admitted.due_at
        extra["survey_id"] = _surveys(state, contact, follow_up_id, due_at, detail, policy, work)
    due = decision(
        FollowUpDue,
        cause,
        source=SERVICE,
        occurred_at=occurred,
        name=contact.name,
        customer_id=state.customer_id,
        follow_up_id=follow_up_id,
        reason=contact.reason,
        due_at=admitted.due_at,
        channel=admitted.channel,
        expires_at=contact.expires_at,
        detail=detail,
        rules_applied=admitted.rules_applied,
        priority=contact.priority,
        **extra,
    )
    state.plan_follow_up(
        FollowUp(
            follow_up_id,
            contact.reason,
            admitted.due_at,
            admitted.channel,
            request.source if request is not None else SERVICE,
            attempt=contact.attempt,
            root_id=contact.root_id or follow_up_id,
            vin=contact.vin,
            request_id=str(request.event_id) if request is not None else None,
            request_correlation_id=(
                str(request.correlation_id or request.event_id) if request is not None else None
            ),
            complaint_id=request.complaint_id if request is not None else None,
            referral_id=request.referral_id if request is not None else None,
            expires_at=contact.expires_at,
            origin=follow_up_origin(due),
        ).to_dict()
    )
    work.decide(due)


def _surveys(
    state: ContactPlan,
    contact: PlannedContact,
    follow_up_id: str,
    due_at: datetime,
    detail: dict[str, str],
    policy: Policy,
    work: UnitOfWork,
) -> str:
    """The survey invitation (and the NPS question riding on it when due); its id."""
    assert contact.survey_kind is not None
    survey_id = survey_id_for(follow_up_id, contact.survey_kind)
    work.add(
        Survey(
            dealership_id=state.dealership_id,
            survey_id=survey_id,
            kind=contact.survey_kind,
            customer_id=state.customer_id,
            follow_up_id=follow_up_id,
        )
    )
    last = state.last_nps_at
    if last is None or (due_at - last).days >= policy.nps_interval_days:
        nps_id = survey_id_for(follow_up_id, "NPS")
        detail["nps_survey_id"] = nps_id
        state.nps_asked(due_at)
        work.add(
            Survey(
                dealership_id=state.dealership_id,
                survey_id=nps_id,
                kind="NPS",
                customer_id=state.customer_id,
                follow_up_id=follow_up_id,
            )
        )
    return survey_id


def skipped_decision(
    cause: CauseLike,
    follow_up_id: str,
    reason: str,
    skip: Skipped,
    name: str,
    at: datetime,
    about: dict[str, str | None] | None = None,
    customer_id: str | None = None,
) -> FollowUpSkipped:
    """`customer_id`: whose contact it is, when not the cause's customer (a car sold on)."""
    detail = {"why": skip.why, **skip.contact.detail}
    return decision(
        FollowUpSkipped,
        cause,
        source=SERVICE,
        occurred_at=at,
        name=name,
        customer_id=customer_id,
        follow_up_id=follow_up_id,
        reason=reason,
        skip_reason=skip.skip_reason,
        detail=detail,
        **(about or {}),
    )


def record_skip(cause: CauseLike, skip: Skipped, work: UnitOfWork, occurred: datetime) -> None:
    contact, request = skip.contact, skip.contact.request
    if request is not None:
        about = {"complaint_id": request.complaint_id, "referral_id": request.referral_id}
        work.decide(request_refusal(request, request.follow_up_id, skip, occurred, about))
        return
    follow_up_id = follow_up_of(cause, contact)
    work.decide(skipped_decision(cause, follow_up_id, contact.reason, skip, contact.name, occurred))


def request_refusal(
    request: CauseLike,
    follow_up_id: str,
    skip: Skipped,
    at: datetime,
    about: dict[str, str | None],
) -> FollowUpSkipped:
    """The refusal of a requested contact: named by the request, whenever it is decided,
    and saying which complaint or referral it was for."""
    name = f"gate:{follow_up_id}"
    return skipped_decision(request, follow_up_id, skip.contact.reason, skip, name, at, about)


def request_cause(state: ContactPlan, follow_up: FollowUp) -> Cause:
    assert follow_up.request_id is not None
    correlation = follow_up.request_correlation_id or follow_up.request_id
    return Cause(
        UUID(follow_up.request_id), UUID(correlation), state.dealership_id, state.customer_id
    )


def skip_open(
    state: ContactPlan,
    follow_up: FollowUp,
    event: Event,
    skip_reason: str,
    why: str,
    name: str,
    work: UnitOfWork,
    detail: dict[str, str] | None = None,
) -> None:
    """End an open contact of the plan, recorded: `FollowUpSkipped`, caused by and dated at
    `event`. One another service requested is refused as its request names it
    (`request_refusal`); one of ours is named by `event` and `name`, under the plan's
    customer; another service's own (honoured, not requested through us) is only closed
    here: that service records it."""
    contact = PlannedContact(
        follow_up.follow_up_id,
        follow_up.reason,
        follow_up.due_at,
        (follow_up.channel,),
        dict(detail or {}),
    )
    skip = Skipped(contact, skip_reason, why)
    end_skipped(state, follow_up, skip, event, name, work, customer_id=state.customer_id)


def end_skipped(
    state: ContactPlan,
    follow_up: FollowUp,
    skip: Skipped,
    event: Event,
    name: str,
    work: UnitOfWork,
    customer_id: str | None = None,
) -> None:
    """End an open contact `skip` skips, dated at `event`: a requested one refused as its
    request names it, one of ours recorded under `name` (and `customer_id`, when not the
    event's customer); another service's own is only closed here."""
    at = event.occurred_at
    state.cancel_follow_up(follow_up.follow_up_id, skip.skip_reason)
    if follow_up.request_id is not None:
        about = {"complaint_id": follow_up.complaint_id, "referral_id": follow_up.referral_id}
        cause = request_cause(state, follow_up)
        work.decide(request_refusal(cause, follow_up.follow_up_id, skip, at, about))
    elif follow_up.source == SERVICE:
        work.decide(
            skipped_decision(
                event,
                follow_up.follow_up_id,
                follow_up.reason,
                skip,
                name,
                at,
                customer_id=customer_id,
            )
        )
