"""Answers that come through another door than the call (docs/outreach.md "Answered
elsewhere"): a survey answer, the referral call-back's answers, a scope-change approval or
decline. The open contact they answer has been made: outreach closes it in the plan and
records `FollowUpAnswered`, caused by the answer. A contact no longer open (expired,
skipped, cancelled, done) is left as it is.

A survey invitation is found by its `Survey`; a referral call-back and a scope-change call
by `Awaited`, written when the contact is planned, since their answer names the referral or
the repair order, not the follow-up, and may come on the referral's other party.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events import (
    ContactRequested,
    FollowUpAnswered,
    ReferralCallbackAnswered,
    ScopeChangeApproved,
    ScopeChangeDeclined,
    SurveyAnswered,
    SurveyAnswerRejected,
)
from laoke.decisions import Cause, CauseLike, decision
from laoke.work import UnitOfWork
from services.outreach.aggregates import (
    ContactPlan,
    FollowUp,
    Survey,
    survey_aggregate_id,
)
from services.outreach.identity import plan_now
from services.outreach.recording import SERVICE

DoorAnswer = ReferralCallbackAnswered | ScopeChangeApproved | ScopeChangeDeclined
ANSWERS = (SurveyAnswered, ReferralCallbackAnswered, ScopeChangeApproved, ScopeChangeDeclined)


def door_of(request: ContactRequested) -> str | None:
    """What answers a requested contact besides the call itself (None: only the call)."""
    if request.reason == "referral_callback" and request.referral_id:
        return f"referral:{request.referral_id}"
    repair_order_id = request.detail.get("repair_order_id")
    if request.reason == "scope_change_contact" and repair_order_id:
        return f"repair_order:{repair_order_id}"
    return None


def door_answered(answer: DoorAnswer) -> str:
    if isinstance(answer, ReferralCallbackAnswered):
        return f"referral:{answer.referral_id}"
    return f"repair_order:{answer.repair_order_id}"


def awaited_id(dealership_id: str, door: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:outreach:awaited:{dealership_id}:{door}")


class Awaited(Aggregate):
    """One door (a referral, a repair order): the contacts planned that an answer through it
    makes (follow-up id -> when it was asked for), whose plan they are in, and the answers
    that came through it. Services record on RETENTION at their own pace, so an answer may
    be handled before the request it answers: it is kept for the contact planned later."""

    @staticmethod
    def create_id(dealership_id: str, door: str) -> UUID:
        return awaited_id(dealership_id, door)

    @event("Opened")
    def __init__(self, dealership_id: str, door: str) -> None:
        self.customer_id: str | None = None
        self.requested: dict[str, datetime] = {}
        self.answers: list[dict[str, str]] = []

    @event("Planned")
    def planned(self, customer_id: str, follow_up_id: str, requested_at: datetime) -> None:
        self.customer_id = customer_id
        self.requested.setdefault(follow_up_id, requested_at)

    @event("Answered")
    def answered(self, answer: dict[str, str]) -> None:
        if answer not in self.answers:
            self.answers.append(answer)


def _awaited(work: UnitOfWork, dealership_id: str, door: str) -> Awaited:
    found = work.get(awaited_id(dealership_id, door), Awaited)
    if found is None:
        found = Awaited(dealership_id, door)
        work.add(found)
    return found


def expect(state: ContactPlan, request: ContactRequested, work: UnitOfWork) -> None:
    """Remember a requested contact just planned under its door; an answer that came
    through it already (handled first) makes it now, recorded as if it came after."""
    door = door_of(request)
    if door is None:
        return
    awaited = _awaited(work, state.dealership_id, door)
    awaited.planned(state.customer_id, request.follow_up_id, request.occurred_at)
    for kept in awaited.answers:
        at = datetime.fromisoformat(kept["occurred_at"])
        if at < request.occurred_at:
            continue  # given before this contact was asked for: it answered another
        cause = Cause(
            UUID(kept["event_id"]), UUID(kept["correlation_id"]), state.dealership_id, None
        )
        _make(state, open_among(state, {request.follow_up_id}), cause, at, kept["event_type"], work)
        return


def open_among(state: ContactPlan, follow_up_ids: set[str]) -> list[FollowUp]:
    """The open contacts of `follow_up_ids`, their retries included (pure)."""
    return [
        f
        for f in state.follow_ups.values()
        if f.status == "due" and (f.follow_up_id in follow_up_ids or f.root_id in follow_up_ids)
    ]


def answered(
    state: ContactPlan, answer: SurveyAnswered | DoorAnswer, work: UnitOfWork
) -> ContactPlan | None:
    """Close the open contacts `answer` makes and record it; the plan they were in."""
    if isinstance(answer, SurveyAnswered):
        survey = _accepted(state, answer, work)
        if survey is not None:
            made = open_among(state, {survey.follow_up_id})
            _make(state, made, answer, answer.occurred_at, answer.event_type, work)
        return state
    awaited = _awaited(work, answer.dealership_id, door_answered(answer))
    awaited.answered(
        {
            "event_id": str(answer.event_id),
            "correlation_id": str(answer.correlation_id or answer.event_id),
            "event_type": answer.event_type,
            "occurred_at": answer.occurred_at.isoformat(),
        }
    )
    if awaited.customer_id is None:
        return None  # asked for later: `expect` makes it then
    plan = plan_now(work, answer.dealership_id, awaited.customer_id)
    if plan is None:
        return None
    asked = {f for f, at in awaited.requested.items() if at <= answer.occurred_at}
    _make(plan, open_among(plan, asked), answer, answer.occurred_at, answer.event_type, work)
    return plan


def _make(
    plan: ContactPlan,
    made: list[FollowUp],
    cause: CauseLike,
    at: datetime,
    answer_type: str,
    work: UnitOfWork,
) -> None:
    """The contacts `made` are made by the answer `cause`: closed, and recorded."""
    for follow_up in made:
        plan.close_follow_up(follow_up.follow_up_id, "reached")
        work.decide(
            decision(
                FollowUpAnswered,
                cause,
                source=SERVICE,
                occurred_at=at,
                name=follow_up.follow_up_id,
                customer_id=plan.customer_id,
                follow_up_id=follow_up.follow_up_id,
                reason=follow_up.reason,
                answer=answer_type,
            )
        )


def _accepted(state: ContactPlan, answer: SurveyAnswered, work: UnitOfWork) -> Survey | None:
    """The survey `answer` counts for, marked answered; else `SurveyAnswerRejected`."""
    survey = work.get(survey_aggregate_id(answer.dealership_id, answer.survey_id), Survey)
    why: str | None = None
    if survey is None:
        why = "unknown_survey"
    elif not state.knows_customer(survey.customer_id):
        why = "wrong_customer"
    elif survey.answered_by is not None:
        why = "already_answered"
    if why is None:
        assert survey is not None
        survey.answer(str(answer.event_id))
        return survey
    work.decide(
        decision(
            SurveyAnswerRejected,
            answer,
            source=SERVICE,
            occurred_at=answer.occurred_at,
            survey_id=answer.survey_id,
            why=why,
        )
    )
    return None
