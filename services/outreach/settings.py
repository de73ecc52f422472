"""Outreach settings: one policy of defaults (docs/domain.md), overridable per dealership."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from laoke.policy import DealershipOverrides


class FollowUpLives(BaseModel):
    """How long each kind of contact outreach plans stays worth making: `N` = on its due
    day and N days after (local), then it expires at midnight; null = until it is made.
    A retry keeps its first try's expiry. The reason for each default is in
    docs/outreach.md ("Useful life"). A dealership overrides any of them alone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purchase_call_7d: int | None = Field(14, ge=0)
    purchase_call_3m: int | None = Field(30, ge=0)
    small_purchase_call: int | None = Field(3, ge=0)
    survey_csi: int | None = Field(7, ge=0)
    survey_ssi: int | None = Field(14, ge=0)
    survey_nps: int | None = Field(14, ge=0)
    service_reminder: int | None = Field(30, ge=0)
    inspection_reminder: int | None = Field(30, ge=0)
    insurance_reminder: int | None = Field(30, ge=0)
    reengagement: int | None = Field(30, ge=0)
    birthday_greeting: int | None = Field(0, ge=0)
    holiday_greeting: int | None = Field(0, ge=0)

    def days(self, reason: str) -> int | None:
        """The life of `reason` in days; None for a reason with no life here."""
        if reason not in type(self).model_fields:
            return None
        found: int | None = getattr(self, reason)
        return found


class Policy(BaseModel):
    """Every number the outreach rules use. Defaults are docs/domain.md's (or documented ones in
    docs/outreach.md where the seeds give none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field("Asia/Shanghai", description="Dealership local time zone.")
    quiet_start: time = Field(time(21, 0), description="Quiet hours start (local).")
    quiet_end: time = Field(time(9, 0), description="Quiet hours end (local).")
    contact_time: time = Field(
        time(10, 0), description="Local time of date-based contacts (greetings, reminders)."
    )
    cap_contacts: int = Field(4, ge=1, description="Most outbound contacts in any window.")
    cap_window_days: int = Field(30, ge=1)
    cap_max_wait_days: int = Field(
        14, ge=0, description="How long a non-marketing contact over the cap may wait."
    )
    purchase_call_days: int = Field(7, ge=1)
    purchase_call_months: int = Field(3, ge=1)
    small_purchase_call_days: int = Field(1, ge=0)
    small_purchase_sample_rate: float = Field(0.2, ge=0.0, le=1.0)
    sample_seed: str = Field("laoke", description="Seed of the small-purchase sample.")
    service_interval_months: int = Field(6, ge=1)
    service_interval_km: int = Field(5000, ge=1)
    inspection_interval_months: int = Field(24, ge=1)
    insurance_interval_months: int = Field(12, ge=1)
    renewal_lead_days: int = Field(30, ge=0, description="Remind this long before due.")
    insurance_purpose: Literal["service", "marketing"] = Field(
        "service",
        description="The insurance reminder's purpose: a renewal due is service "
        "(docs/domain.md); a dealership whose reminder carries an offer sets marketing "
        "(insurance offers are marketing: they need marketing consent).",
    )
    holiday_greetings: list[str] = Field(
        default_factory=lambda: ["Spring Festival", "Mid-Autumn Festival"],
        description="Names as the `holidays` package spells them (en_US) for China.",
    )
    reengage_after_days: int = Field(180, ge=1)
    survey_delay_days: int = Field(1, ge=0, description="CSI / SSI invitation delay.")
    nps_interval_days: int = Field(180, ge=1, description="At most one NPS question per this.")
    retry_max_tries: int = Field(3, ge=1, description="Attempts of a call, the first included.")
    retry_after_days: int = Field(1, ge=1)
    follow_up_life_days: FollowUpLives = Field(
        default_factory=FollowUpLives,
        description="Useful life of each contact kind (days after its due day; null: none).",
    )


class OutreachSettings(Policy, DealershipOverrides[Policy], BaseSettings):
    """`LAOKE_OUTREACH_*` environment variables; `dealerships` overrides per dealership id."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_OUTREACH_", extra="ignore", frozen=True)
