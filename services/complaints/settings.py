"""Complaints settings: docs/domain.md's defaults, overridable per dealership."""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from events import Channel
from events.inbound import Role, Severity
from events.recorded import ComplaintClock
from laoke.policy import DealershipOverrides
from services.complaints.calendar import BusinessCalendar, ComplaintClocks

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Opening(BaseModel):
    """One day's opening hours, local time; also written "09:00-21:00"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opens: time
    closes: time

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str) and "-" in value:
            opens, closes = value.split("-", 1)
            return {"opens": opens.strip(), "closes": closes.strip()}
        return value

    @model_validator(mode="after")
    def _opens_first(self) -> Opening:
        if not self.opens < self.closes:
            raise ValueError(f"{self.opens}-{self.closes}: it must open before it closes")
        return self


_HIGH_ONLY: list[Severity] = ["high"]
DAY = Opening(opens=time(9), closes=time(21))


class OpeningHours(BaseModel):
    """Opening hours per weekday; null closes that weekday (docs/complaints.md "Clocks")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mon: Opening | None = DAY
    tue: Opening | None = DAY
    wed: Opening | None = DAY
    thu: Opening | None = DAY
    fri: Opening | None = DAY
    sat: Opening | None = DAY
    sun: Opening | None = DAY

    def spans(self) -> tuple[tuple[time, time] | None, ...]:
        days = (getattr(self, name) for name in WEEKDAYS)
        return tuple(None if day is None else (day.opens, day.closes) for day in days)


class SlaBySeverity(BaseModel):
    """Filing to resolution, by severity, in the complaint's clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    high: timedelta = timedelta(hours=24)
    medium: timedelta = timedelta(hours=48)
    low: timedelta = timedelta(hours=72)


class Policy(BaseModel):
    """Every limit and duration the complaint rules use (defaults from docs/domain.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clock: ComplaintClock = Field(
        "business",
        description="What the apology and SLA clocks count: opening hours (business) or "
        "every hour (calendar).",
    )
    timezone: str = Field("Asia/Shanghai", description="The dealership's local time zone.")
    opening_hours: OpeningHours = Field(default_factory=OpeningHours)
    closed_on_public_holidays: bool = Field(
        True, description="Closed on China's public holidays (the `holidays` package)."
    )
    closed_dates: list[date] = Field(
        default_factory=list, description="The dealership's own closed days (local dates)."
    )
    apology_within: timedelta = Field(
        timedelta(hours=1), description="The apology is due this long after filing."
    )
    sla: Annotated[SlaBySeverity, NoDecode] = Field(
        default_factory=SlaBySeverity,
        description="Filing to resolution by severity; past it the complaint escalates to "
        "the manager. One duration sets every severity.",
    )
    general_manager_after: float = Field(
        2.0,
        gt=1,
        description="Still unresolved at this many SLAs: escalated to the general manager.",
    )
    general_manager_at_once: list[Severity] = Field(
        default_factory=lambda: _HIGH_ONLY.copy(),
        description="Severities that go to the general manager as soon as the SLA breaches.",
    )
    callback_dissatisfied_max: int = Field(
        6,
        ge=0,
        le=10,
        description="A call-back satisfaction at most this (or declined) reopens the complaint.",
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
        "manager", description="Who an apology-overdue escalation goes to."
    )
    advisor_limit_cny: Decimal | None = Field(
        Decimal(2000), ge=0, description="Largest remedy an advisor may propose (None: no limit)."
    )
    manager_limit_cny: Decimal | None = Field(Decimal(20000), ge=0)
    general_manager_limit_cny: Decimal | None = Field(None, ge=0)

    @field_validator("sla", mode="before")
    @classmethod
    def _one_for_all(cls, value: Any) -> Any:
        """A single duration (the setting before severities) is every severity's SLA; from
        the environment, `LAOKE_COMPLAINTS_SLA` is that duration or a JSON object."""
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = json.loads(value)
        if isinstance(value, dict | SlaBySeverity):
            return value
        return {"high": value, "medium": value, "low": value}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @model_validator(mode="after")
    def _calendar_is_valid(self) -> Policy:
        self.clocks()  # a calendar that never opens fails at start-up
        return self

    def clocks(self) -> ComplaintClocks:
        """The clock complaints' due times run in, over this dealership's calendar."""
        calendar = BusinessCalendar(
            timezone=self.timezone,
            hours=self.opening_hours.spans(),
            closed_dates=frozenset(self.closed_dates),
            closed_on_public_holidays=self.closed_on_public_holidays,
        )
        return ComplaintClocks(self.clock, calendar)

    def sla_for(self, severity: Severity) -> timedelta:
        sla: timedelta = getattr(self.sla, severity)
        return sla

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
    e.g. `LAOKE_COMPLAINTS_DEALERSHIPS='{"bj-4s": {"sla": {"high": "PT12H"}}}'`."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_COMPLAINTS_", extra="ignore", frozen=True)
