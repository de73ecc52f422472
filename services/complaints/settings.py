"""Complaints settings: docs/domain.md's defaults, overridable per dealership."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from events import Channel
from events.inbound import Role
from laoke.policy import DealershipOverrides


class Policy(BaseModel):
    """Every limit and duration the complaint rules use (defaults from docs/domain.md)."""

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
    callback_max_tries: int = Field(
        3,
        ge=1,
        description="Call-back attempts, the first included; when the last one ends no_answer "
        "or wrong_number, step 6 closes without satisfaction (unreachable).",
    )
    callback_retry_after: timedelta = Field(
        timedelta(days=1),
        gt=timedelta(0),
        description="An unanswered call-back is tried again this long after the attempt.",
    )
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


class ComplaintSettings(Policy, DealershipOverrides[Policy], BaseSettings):
    """`LAOKE_COMPLAINTS_*` environment variables; `dealerships` overrides per dealership id,
    e.g. `LAOKE_COMPLAINTS_DEALERSHIPS='{"bj-4s": {"sla": "PT24H"}}'`."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_COMPLAINTS_", extra="ignore", frozen=True)
