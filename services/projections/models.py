"""Response models of the read API (`*Public`): what dashboards may rely on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CustomerClassName = Literal["gold", "meteor", "small_star", "burden"]
SlaState = Literal["on_time", "at_risk", "breached"]
FollowUpStatus = Literal["due", "upcoming", "overdue", "done", "skipped", "expired"]
Verdict = Literal["pending", "verified", "rejected", "rewarded"]
ComplaintStatus = Literal["open", "escalated", "resolved", "closed"]


class Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorPublic(Public):
    message: str = Field(description="What went wrong, for people.")
    field: str | None = Field(None, description="The query or path parameter at fault.")
    errors: list[dict[str, Any]] | None = None


class TouchpointPublic(Public):
    event_id: str
    event_type: str
    at: datetime
    source: str


class FamilyMemberPublic(Public):
    relation: str
    name: str
    birthday: str


class ConsentChangePublic(Public):
    """One consent change, as recorded: what it gave or withdrew, when, from where."""

    seq: int = Field(description="Position on RETENTION.")
    event_id: str
    event_type: str = Field(description="`CustomerRegistered` or `ContactPreferenceChanged`.")
    recorded_for: str = Field(description="The customer id the event was recorded under.")
    occurred_at: datetime = Field(description="When the customer said it (`occurred_at`).")
    received_at: datetime | None = Field(description="When laoke received it.")
    source: str = Field(description="The system that reported it (`source`).")
    given: bool = Field(
        description="true: consent given (or opted back in); false: refused or "
        "withdrawn (opted out)."
    )
    purposes: list[str] = Field(
        description="The purposes it covers (a registration's is "
        "`marketing`; a change naming none covers every purpose but "
        "`complaint`)."
    )
    channels: list[str] = Field(
        description="The channels it covers (a registration's: those the "
        "customer accepted; a change naming none: every channel)."
    )


class ConsentPublic(Public):
    marketing: bool | None
    channels: list[str]
    opted_out: list[str] = Field(description="Channels the customer opted out of.")
    opted_out_all: bool = Field(
        description="Opted out of every contact but an open complaint's steps (a change "
        "without `purposes`)."
    )
    opted_out_by_purpose: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Purpose -> the channels opted out of for it (every change, `purposes` "
        "or not: docs/contract.md).",
    )
    history: list[ConsentChangePublic] = Field(
        default_factory=list,
        description="Every consent change, oldest first (merged ids' included): the proof.",
    )


class VehiclePublic(Public):
    vin: str
    plate: str | None = Field(None, description="The licence plate, where one was recorded.")
    model: str | None = None
    colour: str | None = None
    price_cny: float | None = None
    purchased_at: datetime | None = None
    delivered_at: datetime | None = None
    mileage_km: int | None = None
    last_service_at: datetime | None = None


class StatsPublic(Public):
    spend_cny: float
    vehicle_purchases: int
    largest_purchase_cny: float
    small_purchases: int
    visits: int
    service_visits: int
    first_service_at: datetime | None
    last_service_at: datetime | None
    reworks: int
    complaints: int
    open_complaints: int
    remedies_paid_cny: float
    risk_flags: int
    scope_breaches: int
    referrals_rewarded: int


class ClassPublic(Public):
    name: CustomerClassName
    because: list[str] = Field(description="The facts that put the customer in this class.")
    facts: dict[str, Any]
    as_of: datetime


class CustomerPublic(Public):
    customer_id: str = Field(description="The customer answering (the survivor of merges).")
    requested_id: str = Field(description="The id asked for.")
    merged_into: str | None = Field(
        None, description="Set when the id asked for was merged: the survivor's id."
    )
    merged_ids: list[str] = Field(description="Ids merged into this customer.")
    dealership_id: str
    name: str | None
    phones: list[str]
    plates: list[str] = Field(
        description="Licence plates: registered with the person, then their vehicles'."
    )
    external_ids: list[str]
    flagged_phones: list[str]
    birthday: str | None
    family: list[FamilyMemberPublic]
    advisor_id: str | None
    consent: ConsentPublic
    vehicles: list[VehiclePublic]
    customer_class: CustomerClassName
    classification: ClassPublic
    first_seen_at: datetime
    last_touchpoint: TouchpointPublic | None
    stats: StatsPublic


class CustomerListPublic(Public):
    customers: list[CustomerPublic]


class TimelineEntryPublic(Public):
    seq: int = Field(description="Position on RETENTION.")
    event_id: str
    event_type: str
    occurred_at: datetime
    source: str
    touchpoint: bool = Field(description="A contact with the customer (not a decision).")
    summary: str
    recorded_for: str = Field(description="The customer id the event was recorded under.")


class TimelinePublic(Public):
    customer_id: str
    requested_id: str
    total: int
    offset: int
    limit: int
    entries: list[TimelineEntryPublic]


class StepPublic(Public):
    step: int
    name: str
    at: datetime = Field(description="When it happened, as the sender said (`occurred_at`).")
    backdated: bool = Field(
        False, description="Received more than 15 minutes after `at` (events/timing.py)."
    )
    received_at: datetime | None = Field(None, description="When laoke received a backdated step.")


class RemedyPublic(Public):
    remedy: str
    amount_cny: float
    proposed_by: str
    role: str
    at: datetime
    status: Literal["proposed", "superseded", "refused", "rejected", "accepted", "reopened"] = (
        Field(description="reopened: accepted, then the call-back found the customer dissatisfied.")
    )
    why: str | None = None


class EscalationPublic(Public):
    at: datetime
    escalated_to: str
    why: str
    level: int | None = Field(None, description="1 the manager, 2 the general manager.")


class ReopeningPublic(Public):
    """A call-back that found the customer dissatisfied and sent the complaint back to 4."""

    at: datetime
    follow_up_id: str
    outcome: str
    satisfaction: int | None


class StepRejectionPublic(Public):
    at: datetime
    attempted: str
    why: str


class ComplaintPublic(Public):
    complaint_id: str
    dealership_id: str
    customer_id: str
    category: str
    severity: str
    channel: str
    description: str
    vin: str | None
    repair_order_id: str | None
    advisor_id: str | None
    department: str
    status: ComplaintStatus = Field(
        description="`closed` (step 6 done), `resolved` (a remedy accepted), `escalated`"
        " (unresolved, escalated at least once), else `open`."
    )
    step: int = Field(ge=1, le=6)
    step_name: str
    steps: list[StepPublic]
    filed_at: datetime
    apology_due_at: datetime | None = Field(
        description="As complaints recorded it (ComplaintClockSet); null until it has."
    )
    apologised_at: datetime | None
    sla_due_at: datetime | None = Field(
        description="As complaints recorded it (ComplaintClockSet); null until it has."
    )
    general_manager_due_at: datetime | None = Field(
        None, description="Still unresolved then: the general manager (ComplaintClockSet)."
    )
    clock: Literal["business", "calendar"] | None = Field(
        None,
        description="What the due times count: opening hours (business) or every hour; "
        "null on complaints recorded before the choice (every hour).",
    )
    apology_within_hours: float | None = Field(
        None, description="The apology target, in `clock`'s hours, as complaints recorded it."
    )
    sla_hours: float | None = Field(
        None, description="The SLA for this complaint's severity, in `clock`'s hours."
    )
    resolved_at: datetime | None
    closed_at: datetime | None
    hours_to_apology: float | None = Field(
        description="Filing to the apology; a backdated apology counts at its receipt while "
        "the complaint was watched live (events/timing.py)."
    )
    hours_to_resolution: float | None
    business_hours_to_apology: float | None = Field(
        None, description="Opening hours from filing to the apology, as complaints counted them."
    )
    business_hours_to_resolution: float | None = None
    reopenings: list[ReopeningPublic] = Field(default_factory=list)
    remedy: RemedyPublic | None = Field(description="The accepted, else the pending remedy.")
    remedies: list[RemedyPublic]
    sla_state: SlaState
    within_sla: bool | None
    apology_overdue: bool
    escalations: list[EscalationPublic]
    rejections: list[StepRejectionPublic]
    satisfaction: int | None
    callback_outcome: str | None = Field(
        None,
        description="Step 6: reached, declined, unreachable (after every try, or no working "
        "channel), or opted_out (the contact rules refused the call-back).",
    )
    as_of: datetime


class FollowUpCustomerPublic(Public):
    """Whom to call, from the customer read model as it is now (merges followed)."""

    customer_id: str
    name: str | None
    phone: str | None = Field(
        description="The primary phone: the first one known that is not flagged as wrong."
    )
    customer_class: CustomerClassName


class FollowUpVehiclePublic(Public):
    """The vehicle a follow-up is about (a purchase call, a survey, a reminder, a complaint)."""

    vin: str
    model: str | None
    plate: str | None = Field(description="The licence plate, where one was recorded.")


class FollowUpPublic(Public):
    follow_up_id: str
    customer_id: str
    customer: FollowUpCustomerPublic | None = Field(
        description="Null only if the read model holds no row for the customer."
    )
    vehicle: FollowUpVehiclePublic | None = Field(
        description="Null when the follow-up is about the customer, not a vehicle."
    )
    status: FollowUpStatus = Field(
        description="Open items: `overdue` once past `due_at`, `due` at it, `upcoming` before."
    )
    reason: str | None
    channel: str | None
    due_at: datetime | None
    expires_at: datetime | None = Field(
        description="When it stops being worth making and leaves the list (`expired`); null:"
        " it stays until it is made (e.g. a complaint call-back)."
    )
    done_at: datetime | None
    outcome: str | None
    satisfaction: int | None
    skip_reason: str | None
    rules_applied: list[str]
    detail: dict[str, str]
    priority: int
    complaint_id: str | None
    referral_id: str | None
    survey_id: str | None
    advisor_id: str | None
    department: str | None


class ComplaintListPublic(Public):
    dealership_id: str
    status: ComplaintStatus | None = Field(description="The status listed; null: every one.")
    period_from: datetime | None = Field(description="Filed from (null: no lower bound).")
    period_to: datetime | None = Field(description="Filed before (null: no upper bound).")
    as_of: datetime
    count: int = Field(description="Items on this page.")
    items: list[ComplaintPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when this page is the last."
    )


class FollowUpListPublic(Public):
    dealership_id: str
    status: FollowUpStatus
    as_of: datetime
    count: int = Field(description="Items on this page.")
    items: list[FollowUpPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when this page is the last."
    )
