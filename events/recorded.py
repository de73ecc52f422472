"""Decisions the services record on RETENTION; never accepted from outside.

`source` is the recording service (`complaints`, `outreach`, `intake`, ...); `customer`
hints may be omitted; `customer_id`, `correlation_id` and `causation_id` are required.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from events.envelope import FROZEN, RecordedEvent
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
    Vin,
    personal_entries,
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


# -- identity --------------------------------------------------------------------------------


class MergeEvidence(BaseModel):
    """One person key (a phone, or an external id of one source) of the event that tied the
    customers, and the customer it belonged to."""

    model_config = FROZEN
    key_kind: Literal["phone", "external_id"]
    key: ShortText
    customer_id: CustomerId


class CustomersMerged(RecordedEvent):
    """Duplicate customer records found to be one person; `survivor_id` keeps the history.

    `customer_id` (the subject's customer) is the survivor. `evidence`: the person keys that
    tied them (a VIN never does: docs/identity.md); `because` says the same in words.
    """

    event_type: Literal["CustomersMerged"] = "CustomersMerged"
    survivor_id: CustomerId
    merged_ids: Annotated[list[CustomerId], Field(min_length=1, max_length=100)]
    because: Explanation
    evidence: Annotated[list[MergeEvidence], Field(max_length=200)] = Field(default_factory=list)


class CustomersUnmerged(RecordedEvent):
    """A merge undone (`CustomerSplitRequested`): `restored_id` is its own customer again.

    `customer_id` is the survivor (where the restored customer's history was until now, so
    the split is read in order with it). Each identity key resolves again to the person it
    belonged to before the merge; `reattributed_event_ids` are the events recorded under the
    survivor after the merge whose keys were the restored person's: they are the restored
    customer's now (the stream is never rewritten: this event says so)."""

    event_type: Literal["CustomersUnmerged"] = "CustomersUnmerged"
    merge_event_id: UUID
    survivor_id: CustomerId
    restored_id: CustomerId
    requested_by: StaffId
    reason: Explanation
    reattributed_event_ids: Annotated[list[UUID], Field(max_length=10_000)] = Field(
        default_factory=list
    )


class VehicleOwnershipChanged(RecordedEvent):
    """A known VIN arrived with another person: the car changed hands at `changed_at` (the
    event's time). `customer_id` is the new owner; the people are never merged for it."""

    event_type: Literal["VehicleOwnershipChanged"] = "VehicleOwnershipChanged"
    vin: Vin
    previous_owner_id: CustomerId
    owner_id: CustomerId
    changed_at: AwareDatetime


class CustomerErased(RecordedEvent):
    """The customer's personal data is erased: their data keys (theirs and those of every
    customer merged into them, `erased_ids`) are destroyed, so what RETENTION holds of them
    can no longer be read; read models keep anonymous counts only (docs/crypto.md)."""

    event_type: Literal["CustomerErased"] = "CustomerErased"
    erased_ids: Annotated[list[CustomerId], Field(min_length=1, max_length=101)]
    requested_by: StaffId
    request_ref: EntityId


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
