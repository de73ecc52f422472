from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    """`LAOKE_INTAKE_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_INTAKE_", extra="ignore")

    phone_region: str = Field("CN", description="Region for phone numbers given without +.")
    batch_size: int = Field(500, ge=1, le=5000, description="Messages pulled per batch.")
    cache_size: int = Field(
        1_000_000, ge=1000, description="Identity aggregates and recent event ids kept in memory."
    )
    max_array: int = Field(1000, ge=1, description="Most events in one POST /v1/events.")
