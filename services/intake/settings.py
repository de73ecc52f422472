from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from laoke.policy import DealershipOverrides
from services.intake.retention import DEFAULT_YEARS


class Policy(BaseModel):
    """What a dealership may set for itself in intake."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    retention_years: int = Field(
        DEFAULT_YEARS,
        ge=1,
        le=100,
        description="A prospect (never bought) with no touchpoint for this many years is erased.",
    )


class IntakeSettings(Policy, DealershipOverrides[Policy], BaseSettings):
    """`LAOKE_INTAKE_*` environment variables; `dealerships` overrides the policy per
    dealership id."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_INTAKE_", extra="ignore", frozen=True)

    phone_region: str = Field("CN", description="Region for phone numbers given without +.")
    batch_size: int = Field(500, ge=1, le=5000, description="Messages pulled per batch.")
    cache_size: int = Field(
        1_000_000, ge=1000, description="Identity aggregates and recent event ids kept in memory."
    )
    max_array: int = Field(1000, ge=1, description="Most events in one POST /v1/events.")
