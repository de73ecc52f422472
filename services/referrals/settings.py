"""Referral settings: one policy of defaults, overridable per dealership."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from events import Channel
from events.recorded import RewardKind
from laoke.policy import DealershipOverrides


class Policy(BaseModel):
    """Every number and choice the referral rules use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reward_kind: RewardKind = Field("service_voucher", description="gift, service_voucher, cash.")
    reward_amount_cny: Decimal = Field(Decimal(500), ge=0, decimal_places=2)
    callback_delay_hours: float = Field(
        24.0, ge=0, description="The callback is due this long after the referee's delivery."
    )
    callback_channel: Channel = "phone"
    seed: str = Field("laoke-referrals", description="Seed of the callback party draw.")
    referrer_vehicle_must_be_delivered: bool = Field(
        True, description="The referrer's matching vehicle must have been delivered (licensed)."
    )
    phone_region: str = Field("CN", description="Region for phone numbers given without +.")

    @property
    def callback_delay(self) -> timedelta:
        return timedelta(hours=self.callback_delay_hours)


class ReferralSettings(Policy, DealershipOverrides[Policy], BaseSettings):
    """`LAOKE_REFERRALS_*` environment variables; `dealerships` overrides per dealership id."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_REFERRALS_", extra="ignore", frozen=True)
