"""Complaints settings: DOMAIN.md's defaults, overridable per dealership."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from events import Channel
from events.inbound import Role


class Policy(BaseModel):
    """Every limit and duration the complaint rules use (defaults from DOMAIN.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    apology_within: timedelta = Field(
        timedelta(hours=1), description="The apology is due this long after filing."
    )
    sla: timedelta = Field(
        timedelta(hours=48), description="Filing to resolution; past it the complaint escalates."
    )
    callback_after: timedelta = Field(
        timedelta(days=3), description="Step 6: the call-back is due this long after resolution."
    )
    callback_channel: Channel = "phone"
    escalate_to: Literal["manager", "general_manager"] = Field(
        "manager", description="Who an apology-overdue or SLA escalation goes to."
    )
    advisor_limit_cny: Decimal | None = Field(
        Decimal(2000), ge=0, description="Largest remedy an advisor may propose (None: no limit)."
    )
    manager_limit_cny: Decimal | None = Field(Decimal(20000), ge=0)
    general_manager_limit_cny: Decimal | None = Field(None, ge=0)

    def limit(self, role: Role) -> Decimal | None:
        """The largest remedy `role` may propose; None means unlimited."""
        limits = {
            "advisor": self.advisor_limit_cny,
            "manager": self.manager_limit_cny,
            "general_manager": self.general_manager_limit_cny,
        }
        return limits[role]


POLICY_FIELDS = frozenset(Policy.model_fields)


class ComplaintSettings(Policy, BaseSettings):
    """`LAOKE_COMPLAINTS_*` environment variables; `dealerships` overrides per dealership id,
    e.g. `LAOKE_COMPLAINTS_DEALERSHIPS='{"bj-4s": {"sla": "PT24H"}}'`."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_COMPLAINTS_", extra="ignore", frozen=True)

    dealerships: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-dealership overrides of any policy field."
    )

    @model_validator(mode="after")
    def _overrides_are_valid(self) -> ComplaintSettings:
        for dealership_id in self.dealerships:  # fail at start-up, not on the first event
            self.policy(dealership_id)
        return self

    def policy(self, dealership_id: str) -> Policy:
        base = self.model_dump(include=set(POLICY_FIELDS))
        return Policy.model_validate(base | self.dealerships.get(dealership_id, {}))
