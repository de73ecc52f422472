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
from laoke.decisions import decision
from laoke.merges import survivor
from laoke.work import UnitOfWork
from services.outreach.aggregates import (
    ContactPlan,
    FollowUp,
    Survey,
    plan_id,
    survey_aggregate_id,
)
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
    """The contacts planned that an answer through `door` makes, and whose plan they are in."""

    @staticmethod
    def create_id(dealership_id: str, door: str) -> UUID:
        return awaited_id(dealership_id, door)

    @event("Planned")
    def __init__(self, dealership_id: str, door: str, customer_id: str) -> None:
        self.customer_id = customer_id
        self.follow_up_ids: list[str] = []

    @event("Added")
    def also(self, follow_up_id: str) -> None:
        if follow_up_id not in self.follow_up_ids:
            self.follow_up_ids.append(follow_up_id)


def expect(state: ContactPlan, request: ContactRequested, work: UnitOfWork) -> None:
    """Remember a requested contact just planned under the answer that would make it."""
    door = door_of(request)
    if door is None:
        return
    awaited = work.get(awaited_id(state.dealership_id, door), Awaited)
    if awaited is None:
        awaited = Awaited(state.dealership_id, door, state.customer_id)
        work.add(awaited)
    awaited.also(request.follow_up_id)


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
    plan: ContactPlan | None
    if isinstance(answer, SurveyAnswered):
        survey = _accepted(state, answer, work)
        if survey is None:
            return None
        plan, follow_up_ids = state, {survey.follow_up_id}
    else:
        awaited = work.get(awaited_id(answer.dealership_id, door_answered(answer)), Awaited)
        if awaited is None:
            return None
        plan = _plan_of(work, answer.dealership_id, awaited.customer_id)
        follow_up_ids = set(awaited.follow_up_ids)
    if plan is None:
        return None
    for follow_up in open_among(plan, follow_up_ids):
        plan.close_follow_up(follow_up.follow_up_id, "reached")
        work.decide(
            decision(
                FollowUpAnswered,
                answer,
                source=SERVICE,
                occurred_at=answer.occurred_at,
                name=follow_up.follow_up_id,
                customer_id=plan.customer_id,
                follow_up_id=follow_up.follow_up_id,
                reason=follow_up.reason,
                answer=answer.event_type,
            )
        )
    return plan


def _plan_of(work: UnitOfWork, dealership_id: str, customer_id: str) -> ContactPlan | None:
    """The plan holding `customer_id`'s contacts now: its survivor's after a merge."""

    def merged_into(candidate: str) -> str | None:
        found = work.get(plan_id(dealership_id, candidate), ContactPlan)
        return found.merged_into if found is not None else None

    return work.get(plan_id(dealership_id, survivor(customer_id, merged_into)), ContactPlan)


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
