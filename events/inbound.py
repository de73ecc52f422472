"""What other systems may send (docs/contract.md §1), plus the workshop and parts extensions.

Each model lists exactly its payload fields beside the envelope; `?` in the contract is a
default of None here. Enumerations are `Literal`s: unknown values are refused.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from events.envelope import FROZEN, InboundEvent
from events.fields import (
    PERSONAL,
    Channel,
    EntityId,
    Explanation,
    LongText,
    Money,
    Name,
    Note,
    Phone,
    Plate,
    ShortText,
    StaffId,
    Vin,
)

VisitKind = Literal["showroom", "test_drive", "service", "event", "phone_in", "phone_out"]
ServiceKind = Literal["maintenance", "repair", "rework", "inspection"]
ComplaintChannel = Literal["phone", "on_site", "online", "survey"]
ComplaintCategory = Literal[
    "product_quality",
    "misleading_advertising",
    "unsatisfying_goods",
    "unsatisfying_service",
    "not_listening",
    "broken_promise",
    "delay_buck_passing",
    "incompetent_staff",
    "slow_remedy",
    "arrogance",
    "other",
]
Severity = Literal["low", "medium", "high"]
ApologyChannel = Literal["phone", "on_site", "online", "sms", "wechat", "email", "letter"]
Remedy = Literal["apology", "repair", "replace", "refund"]
Role = Literal["advisor", "manager", "general_manager"]
FollowUpOutcome = Literal["reached", "no_answer", "declined", "wrong_number"]
SurveyKind = Literal["CSI", "SSI", "NPS"]
Purpose = Literal["service", "survey", "marketing", "complaint", "referral"]
"""Why laoke contacts a customer (docs/domain.md "Follow-ups and outreach")."""
ArrivalKind = Literal["rework", "emergency", "appointment", "waiting", "vip", "walk_in"]

Satisfaction = Annotated[int, Field(ge=1, le=10)]


# -- nested objects ------------------------------------------------------------------------


class FamilyMember(BaseModel):
    model_config = FROZEN

    relation: Annotated[ShortText, Field(max_length=32)]
    name: Name
    birthday: date


class Consent(BaseModel):
    model_config = FROZEN

    marketing: bool
    channels: Annotated[list[Channel], Field(max_length=5)]


class InvestigationAnswers(BaseModel):
    """Step 3 of the complaint process: the questions asked to understand."""

    model_config = FROZEN

    what: Annotated[Note, PERSONAL]
    how: Annotated[Note, PERSONAL]
    product: Annotated[Note, PERSONAL]
    why: Annotated[Note, PERSONAL]
    wanted_resolution: Annotated[Note, PERSONAL]
    advisor: Annotated[Note | None, PERSONAL] = None
    other: Annotated[Note | None, PERSONAL] = None


class Referrer(BaseModel):
    """The existing customer a referee names, as registered before delivery."""

    model_config = FROZEN

    name: Annotated[Name, PERSONAL]
    phone: Annotated[Phone, PERSONAL]
    vehicle_model: ShortText
    vehicle_colour: ShortText


class CallbackAnswer(BaseModel):
    model_config = FROZEN

    correct: bool
    text: Annotated[Annotated[Note, Field(max_length=500)] | None, PERSONAL] = None


# -- the contract's inbound events ----------------------------------------------------------


class CustomerRegistered(InboundEvent):
    event_type: Literal["CustomerRegistered"] = "CustomerRegistered"
    name: Annotated[Name, PERSONAL]
    phones: Annotated[list[Phone], Field(max_length=10), PERSONAL]
    plate: Annotated[Plate | None, PERSONAL] = None
    birthday: Annotated[date | None, PERSONAL] = None
    family: Annotated[list[FamilyMember], Field(max_length=20), PERSONAL] = Field(
        default_factory=list
    )
    advisor_id: StaffId | None = None
    consent: Consent


class CustomerVisited(InboundEvent):
    event_type: Literal["CustomerVisited"] = "CustomerVisited"
    visit_kind: VisitKind
    advisor_id: StaffId | None = None
    note: Annotated[Note | None, PERSONAL] = None


class VehiclePurchased(InboundEvent):
    event_type: Literal["VehiclePurchased"] = "VehiclePurchased"
    vin: Vin
    model: ShortText
    colour: ShortText
    price_cny: Money
    advisor_id: StaffId
    plate: Annotated[Plate | None, PERSONAL] = None


class VehicleDelivered(InboundEvent):
    event_type: Literal["VehicleDelivered"] = "VehicleDelivered"
    vin: Vin
    delivered_at: AwareDatetime


class ServiceCompleted(InboundEvent):
    event_type: Literal["ServiceCompleted"] = "ServiceCompleted"
    repair_order_id: EntityId
    vin: Vin
    mileage_km: Annotated[int, Field(ge=0, le=10_000_000)]
    amount_cny: Money
    service_kind: ServiceKind
    advisor_id: StaffId


class ComplaintFiled(InboundEvent):
    """Step 1: the customer vents; what they said is recorded."""

    event_type: Literal["ComplaintFiled"] = "ComplaintFiled"
    complaint_id: EntityId
    channel: ComplaintChannel
    category: ComplaintCategory
    description: Annotated[LongText, PERSONAL]
    severity: Severity
    vin: Vin | None = None
    repair_order_id: EntityId | None = None


class ApologyIssued(InboundEvent):
    """Step 2: apologise and thank."""

    event_type: Literal["ApologyIssued"] = "ApologyIssued"
    complaint_id: EntityId
    issued_by: StaffId
    channel: ApologyChannel
    message: Annotated[LongText, PERSONAL]


class ComplaintInvestigated(InboundEvent):
    """Step 3: ask, to understand."""

    event_type: Literal["ComplaintInvestigated"] = "ComplaintInvestigated"
    complaint_id: EntityId
    answers: InvestigationAnswers


class RemedyProposed(InboundEvent):
    """Step 4: take responsibility; the amount must be within the proposer's authority."""

    event_type: Literal["RemedyProposed"] = "RemedyProposed"
    complaint_id: EntityId
    remedy: Remedy
    amount_cny: Money
    proposed_by: StaffId
    role: Role


class RemedyAccepted(InboundEvent):
    """Step 5: the customer accepts the remedy."""

    event_type: Literal["RemedyAccepted"] = "RemedyAccepted"
    complaint_id: EntityId
    note: Annotated[Note | None, PERSONAL] = None


class RemedyRejected(InboundEvent):
    """Step 5: the customer rejects the remedy; back to step 4."""

    event_type: Literal["RemedyRejected"] = "RemedyRejected"
    complaint_id: EntityId
    note: Annotated[Note | None, PERSONAL] = None


class FollowUpCompleted(InboundEvent):
    event_type: Literal["FollowUpCompleted"] = "FollowUpCompleted"
    follow_up_id: EntityId
    outcome: FollowUpOutcome
    satisfaction: Satisfaction | None = None
    note: Annotated[Note | None, PERSONAL] = None


class SurveyAnswered(InboundEvent):
    event_type: Literal["SurveyAnswered"] = "SurveyAnswered"
    survey_id: EntityId
    survey_kind: SurveyKind
    score: Annotated[int, Field(ge=0, le=10)]
    about: EntityId | None = None

    @field_validator("score")
    @classmethod
    def _score_in_scale(cls, value: int, info: ValidationInfo) -> int:
        kind = info.data.get("survey_kind")
        if kind in ("CSI", "SSI") and value < 1:
            raise PydanticCustomError("bad_value", "a {kind} score is 1 to 10", {"kind": kind})
        return value


class ReferralClaimed(InboundEvent):
    event_type: Literal["ReferralClaimed"] = "ReferralClaimed"
    referral_id: EntityId
    referrer: Referrer
    vin: Vin | None = None


class ReferralCallbackAnswered(InboundEvent):
    event_type: Literal["ReferralCallbackAnswered"] = "ReferralCallbackAnswered"
    referral_id: EntityId
    questions: Annotated[list[CallbackAnswer], Field(min_length=3, max_length=4)]


class ContactPreferenceChanged(InboundEvent):
    """`opt_out` (or back in) for the listed purposes on the listed channels. No channels:
    every channel. No purposes: every purpose but an open complaint's steps (service,
    survey, marketing, referral); `complaint` must be named to refuse complaint call-backs."""

    event_type: Literal["ContactPreferenceChanged"] = "ContactPreferenceChanged"
    opt_out: bool
    channels: Annotated[list[Channel], Field(max_length=5)] | None = None
    purposes: Annotated[list[Purpose], Field(max_length=5)] | None = None


class CustomerSplitRequested(InboundEvent):
    """Ops ask to undo a wrong merge: the `CustomersMerged` recorded as `merge_event_id`.

    The customer hints are not resolved (they could tie people together); the merge names
    whom the split is about."""

    event_type: Literal["CustomerSplitRequested"] = "CustomerSplitRequested"
    merge_event_id: UUID
    requested_by: StaffId
    reason: Annotated[Explanation, PERSONAL]  # free text: it may name or describe the people


class PersonalDataErasureRequested(InboundEvent):
    """A data subject's request to erase them (PIPL art. 47): intake records
    `CustomerErased` for the customer the hints name and destroys their key."""

    event_type: Literal["PersonalDataErasureRequested"] = "PersonalDataErasureRequested"
    requested_by: StaffId
    request_ref: EntityId = Field(description="The data-subject request's reference.")


# -- additive extensions: workshop reception and small purchases ----------------------------


class ServiceCheckedIn(InboundEvent):
    """A vehicle arrives at the workshop; `arrival_kind` sets its dispatch priority."""

    event_type: Literal["ServiceCheckedIn"] = "ServiceCheckedIn"
    repair_order_id: EntityId
    vin: Vin
    arrival_kind: ArrivalKind
    promised_at: AwareDatetime | None = None
    advisor_id: StaffId | None = None


class RepairScopeChanged(InboundEvent):
    """The work on a repair order grows; the customer must be told before work goes on."""

    event_type: Literal["RepairScopeChanged"] = "RepairScopeChanged"
    repair_order_id: EntityId
    added_items: Annotated[list[ShortText], Field(min_length=1, max_length=50)]
    extra_amount_cny: Money


class ScopeChangeApproved(InboundEvent):
    event_type: Literal["ScopeChangeApproved"] = "ScopeChangeApproved"
    repair_order_id: EntityId
    note: Annotated[Note | None, PERSONAL] = None


class ScopeChangeDeclined(InboundEvent):
    event_type: Literal["ScopeChangeDeclined"] = "ScopeChangeDeclined"
    repair_order_id: EntityId
    note: Annotated[Note | None, PERSONAL] = None


class SmallPurchaseMade(InboundEvent):
    """A parts or accessories purchase; outreach samples next-day calls from these."""

    event_type: Literal["SmallPurchaseMade"] = "SmallPurchaseMade"
    order_id: EntityId
    amount_cny: Money
    items: Annotated[list[ShortText], Field(min_length=1, max_length=50)]


CONTRACT_INBOUND: tuple[type[InboundEvent], ...] = (
    CustomerRegistered,
    CustomerVisited,
    VehiclePurchased,
    VehicleDelivered,
    ServiceCompleted,
    ComplaintFiled,
    ApologyIssued,
    ComplaintInvestigated,
    RemedyProposed,
    RemedyAccepted,
    RemedyRejected,
    FollowUpCompleted,
    SurveyAnswered,
    ReferralClaimed,
    ReferralCallbackAnswered,
    ContactPreferenceChanged,
    CustomerSplitRequested,
    PersonalDataErasureRequested,
)
EXTENSION_INBOUND: tuple[type[InboundEvent], ...] = (
    ServiceCheckedIn,
    RepairScopeChanged,
    ScopeChangeApproved,
    ScopeChangeDeclined,
    SmallPurchaseMade,
)
ALL_INBOUND: tuple[type[InboundEvent], ...] = CONTRACT_INBOUND + EXTENSION_INBOUND
