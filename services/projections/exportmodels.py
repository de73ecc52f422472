"""The response model of a person's export (`GET /v1/customers/{customer_id}/export`):
everything laoke holds about them, beside models.py's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from services.projections.models import (
    ComplaintPublic,
    CustomerPublic,
    FollowUpPublic,
    Public,
    TimelineEntryPublic,
)
from services.projections.referralmodels import ReferralPublic


class SurveyPublic(Public):
    event_id: str
    survey_id: str
    kind: str = Field(description="CSI, SSI or NPS.")
    score: int
    answered_at: datetime
    advisor_id: str | None
    department: str | None
    rejected: bool = Field(description="Found not to be a true answer: left out of the metrics.")


class RecordedEventPublic(Public):
    seq: int = Field(description="Position on RETENTION.")
    subject: str
    event: dict[str, Any] = Field(description="The recorded event, as laoke reads it back.")
    error: str | None = Field(
        None, description="Set when laoke cannot read the event back; `event` is then its JSON."
    )


class ExportPublic(Public):
    """Everything held about one person (PIPL art. 45): docs/privacy.md."""

    customer_id: str = Field(description="The customer answering (the survivor of merges).")
    requested_id: str
    dealership_id: str
    customer_ids: list[str] = Field(description="Their id and every id merged into it.")
    exported_at: datetime
    profile: CustomerPublic = Field(description="The profile; `consent.history` is the proof.")
    timeline: list[TimelineEntryPublic] = Field(description="Every event about them, oldest first.")
    complaints: list[ComplaintPublic]
    followups: list[FollowUpPublic]
    referrals: list[ReferralPublic] = Field(description="Referrals they claimed (the referee).")
    referred_by_them: list[ReferralPublic] = Field(
        description="Claims naming them as the referrer (by customer id or phone)."
    )
    surveys: list[SurveyPublic]
    events: list[RecordedEventPublic] = Field(
        description="Every event recorded under their ids on RETENTION, in stream order."
    )
