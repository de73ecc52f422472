"""Decisions the services record on RETENTION; never accepted from outside.

`source` is the recording service (`complaints`, `outreach`, `intake`, ...); `customer`
hints may be omitted; `customer_id`, `correlation_id` and `causation_id` are required.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from events.envelope import RecordedEvent
from events.fields import (
    PERSONAL,
    Channel,
    CustomerId,
    EntityId,
    EventTypeName,
    Explanation,
    Money,
    Note,
    Phone,
    ShortText,
    StaffId,
    personal_entries,
)
from events.identity import (
    CustomerErased,
    CustomersMerged,
    CustomersUnmerged,
    VehicleOwnershipChanged,
)
from events.inbound import Remedy, Role

FollowUpReason = Literal[
    "purchase_call_7d",
    "purchase_call_3m",
    "small_purchase_call",
    "service_reminder",
    "inspection_reminder",
    "insurance_reminder",
    "birthday_greeting",
    "holiday_greeting",
    "complaint_callback",
    "referral_callback",
    "reengagement",
    "survey_csi",
    "survey_ssi",
    "survey_nps",
    "scope_change_contact",
    "retry",
]
SkipReason = Literal[
    "opted_out",
    "channel_opted_out",
    "contact_cap",
    "open_complaint",
    "wrong_number",
    "retries_exhausted",
    "expired",
    "superseded",
    "erased",
    "vehicle_sold",
]
ReferralRejection = Literal[
    "registered_after_delivery",
    "referrer_unknown",
    "referrer_vehicle_mismatch",
    "callback_failed",
    "already_rewarded",
    # Refusals of a callback message, not verdicts on the referral (its state is unchanged):
    "unknown_referral",
    "callback_out_of_order",
]
RewardKind = Literal["gift", "service_voucher", "cash"]
Party = Literal["referrer", "referee"]

Detail = Annotated[dict[ShortText, Note], Field(max_length=32)]
"""Small string facts for people reading the record (holiday name, family member, ...)."""
PERSONAL_ENTRIES = personal_entries("name")  # a detail's `name`: whom to greet


# -- outreach --------------------------------------------------------------------------------


class FollowUpDue(RecordedEvent):
    """A contact to make: it goes on the outreach work list at `due_at`, and leaves it at
    `expires_at` (its useful life; none: it stays until it is made) with `FollowUpExpired`."""

    event_type: Literal["FollowUpDue"] = "FollowUpDue"
    follow_up_id: EntityId
    reason: FollowUpReason
    due_at: AwareDatetime
    channel: Channel
    expires_at: AwareDatetime | None = None
    detail: Annotated[Detail, PERSONAL_ENTRIES] = Field(default_factory=dict)
    rules_applied: Annotated[list[ShortText], Field(max_length=32)] = Field(default_factory=list)
    priority: int = 0
    survey_id: EntityId | None = None
    complaint_id: EntityId | None = None
    referral_id: EntityId | None = None
    party: Party | None = None


class ContactRequested(RecordedEvent):
    """Another service wants a contact made (a complaint call-back, a referral verification
    call, a scope-change call). Outreach's contact rules decide: a `FollowUpDue` with the same
    `follow_up_id` at an allowed time, or a `FollowUpSkipped` with the reason."""

    event_type: Literal["ContactRequested"] = "ContactRequested"
    follow_up_id: EntityId
    reason: FollowUpReason
    not_before: AwareDatetime = Field(description="The earliest time the contact is wanted.")
    channels: Annotated[list[Channel], Field(min_length=1, max_length=5)] = Field(
        description="Acceptable channels, preferred first."
    )
    detail: Annotated[Detail, PERSONAL_ENTRIES] = Field(default_factory=dict)
    complaint_id: EntityId | None = None
    referral_id: EntityId | None = None
    party: Party | None = None


class FollowUpSkipped(RecordedEvent):
    """A contact that was due and will not be made, and why."""

    event_type: Literal["FollowUpSkipped"] = "FollowUpSkipped"
    follow_up_id: EntityId
    reason: FollowUpReason
    skip_reason: SkipReason
    detail: Annotated[Detail, PERSONAL_ENTRIES] = Field(default_factory=dict)
    # what a requested contact was about (copied from its ContactRequested)
    complaint_id: EntityId | None = None
    referral_id: EntityId | None = None


class FollowUpExpired(RecordedEvent):
    """An open contact that outlived its useful life: it leaves the work list, not made.
    Dated at `expires_at`; caused by the `FollowUpDue` it ends."""

    event_type: Literal["FollowUpExpired"] = "FollowUpExpired"
    follow_up_id: EntityId
    reason: FollowUpReason
    due_at: AwareDatetime
    expires_at: AwareDatetime


AnswerType = Literal[
    "SurveyAnswered", "ReferralCallbackAnswered", "ScopeChangeApproved", "ScopeChangeDeclined"
]


class FollowUpAnswered(RecordedEvent):
    """An open contact the customer answered through another door than the call (a survey
    answer, the referral call-back's answers, a scope-change approval or decline): it is
    made, outcome `reached`, and leaves the work list. Caused by the answer (`answer` its
    type); recorded only while the contact was open."""

    event_type: Literal["FollowUpAnswered"] = "FollowUpAnswered"
    follow_up_id: EntityId
    reason: FollowUpReason
    answer: AnswerType


class PhoneFlagged(RecordedEvent):
    """A phone number found not to reach the customer (e.g. a wrong-number outcome)."""

    event_type: Literal["PhoneFlagged"] = "PhoneFlagged"
    phone: Annotated[Phone, PERSONAL]
    why: Explanation


# -- complaints ------------------------------------------------------------------------------


ComplaintClock = Literal["business", "calendar"]
"""What a complaint's clocks count: the dealership's opening hours, or every hour."""
Hours = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ComplaintEscalated(RecordedEvent):
    """The complaint goes up a level: 1 the manager, 2 the general manager (each once)."""

    event_type: Literal["ComplaintEscalated"] = "ComplaintEscalated"
    complaint_id: EntityId
    escalated_to: Literal["manager", "general_manager"]
    why: Literal["sla_breached", "apology_overdue", "callback_dissatisfied"]
    level: Literal[1, 2] | None = None  # absent on records older than the two levels


class ComplaintClockSet(RecordedEvent):
    """The complaint's clocks as complaints runs them: when the apology and the resolution
    are due. Recorded at filing (and again whenever a clock changes); every reader shows
    these times and computes none."""

    event_type: Literal["ComplaintClockSet"] = "ComplaintClockSet"
    complaint_id: EntityId
    apology_due_at: AwareDatetime
    sla_due_at: AwareDatetime
    # Absent on older records (their clocks counted every hour):
    clock: ComplaintClock | None = None
    general_manager_due_at: AwareDatetime | None = None
    apology_within_hours: Hours | None = None  # the targets, in `clock`'s hours
    sla_hours: Hours | None = None
    # Recorded again once the apology came: how long it took, in both clocks.
    hours_to_apology: Hours | None = None
    business_hours_to_apology: Hours | None = None


class ApologyOverdue(RecordedEvent):
    event_type: Literal["ApologyOverdue"] = "ApologyOverdue"
    complaint_id: EntityId
    due_at: AwareDatetime


class RemedyRefused(RecordedEvent):
    """A proposed remedy above the proposer's authority; it needs a higher role."""

    event_type: Literal["RemedyRefused"] = "RemedyRefused"
    complaint_id: EntityId
    remedy: Remedy
    amount_cny: Money
    role: Role
    limit_cny: Money
    why: Explanation


class ComplaintResolved(RecordedEvent):
    event_type: Literal["ComplaintResolved"] = "ComplaintResolved"
    complaint_id: EntityId
    resolved_at: AwareDatetime
    hours_to_resolution: Hours
    within_sla: bool
    business_hours_to_resolution: Hours | None = None  # opening hours; absent on older records


class ComplaintClosed(RecordedEvent):
    """Step 6 done: the call-back after the resolution was made."""

    event_type: Literal["ComplaintClosed"] = "ComplaintClosed"
    complaint_id: EntityId
    satisfaction: Annotated[int, Field(ge=1, le=10)] | None = None
    follow_up_id: EntityId | None = None
    # The call-back's outcome: unreachable when every try went unanswered (or no channel
    # works), opted_out when the contact rules refused the call-back (services/complaints).
    outcome: Literal["reached", "declined", "unreachable", "opted_out"] | None = None


class ComplaintReopened(RecordedEvent):
    """Step 6 found the customer still dissatisfied: the complaint is back at step 4."""

    event_type: Literal["ComplaintReopened"] = "ComplaintReopened"
    complaint_id: EntityId
    follow_up_id: EntityId
    outcome: Literal["reached", "declined"]
    satisfaction: Annotated[int, Field(ge=1, le=10)] | None = None


class ComplaintStepRejected(RecordedEvent):
    """A complaint step that arrived out of order or for an unknown complaint."""

    event_type: Literal["ComplaintStepRejected"] = "ComplaintStepRejected"
    complaint_id: EntityId
    attempted: EventTypeName
    why: Explanation


class ComplaintRiskFlagged(RecordedEvent):
    """A silent dissatisfaction signal (rework, low score, breached scope change, ...)."""

    event_type: Literal["ComplaintRiskFlagged"] = "ComplaintRiskFlagged"
    why: Explanation
    repair_order_id: EntityId | None = None


# -- surveys ---------------------------------------------------------------------------------


class SurveyAnswerRejected(RecordedEvent):
    event_type: Literal["SurveyAnswerRejected"] = "SurveyAnswerRejected"
    survey_id: EntityId
    why: Literal["unknown_survey", "already_answered", "wrong_customer"]


# -- referrals -------------------------------------------------------------------------------


class ReferralVerified(RecordedEvent):
    event_type: Literal["ReferralVerified"] = "ReferralVerified"
    referral_id: EntityId
    referrer_customer_id: CustomerId


class ReferralRejected(RecordedEvent):
    event_type: Literal["ReferralRejected"] = "ReferralRejected"
    referral_id: EntityId
    reason: ReferralRejection
    detail: Annotated[Note | None, PERSONAL] = None


class RewardGranted(RecordedEvent):
    event_type: Literal["RewardGranted"] = "RewardGranted"
    referral_id: EntityId
    referrer_customer_id: CustomerId
    kind: RewardKind
    amount_cny: Money


# -- workshop --------------------------------------------------------------------------------


class ScopeChangeBreached(RecordedEvent):
    """Work went on after a scope change before the customer approved it."""

    event_type: Literal["ScopeChangeBreached"] = "ScopeChangeBreached"
    repair_order_id: EntityId
    advisor_id: StaffId | None = None


ALL_RECORDED_ONLY: tuple[type[RecordedEvent], ...] = (
    ContactRequested,
    FollowUpDue,
    FollowUpSkipped,
    FollowUpExpired,
    FollowUpAnswered,
    PhoneFlagged,
    ComplaintEscalated,
    ComplaintClockSet,
    ApologyOverdue,
    RemedyRefused,
    ComplaintResolved,
    ComplaintClosed,
    ComplaintReopened,
    ComplaintStepRejected,
    ComplaintRiskFlagged,
    SurveyAnswerRejected,
    ReferralVerified,
    ReferralRejected,
    RewardGranted,
    CustomersMerged,
    CustomersUnmerged,
    VehicleOwnershipChanged,
    CustomerErased,
    ScopeChangeBreached,
)
