"""Projections settings: class thresholds, when an open complaint is at risk, metric knobs.

Environment prefix `LAOKE_PROJECTIONS_`; `dealerships` overrides the complaint timings and
the figures' settings per dealership id, e.g.
`LAOKE_PROJECTIONS_DEALERSHIPS='{"bj-4s": {"at_risk_share": 0.5, "repurchase_window_days": 180}}'`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

M = TypeVar("M", bound=BaseModel)


class ClassThresholds(BaseModel):
    """Where the lines between gold / meteor / small_star / burden are, and what a customer
    is worth and costs (docs/projections.md, "Customer classes")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Value is margin, not revenue: the dealership's margin on each line.
    vehicle_margin: float = Field(0.04, ge=0, le=1, description="Margin on vehicle sales.")
    service_margin: float = Field(0.45, ge=0, le=1, description="Margin on paid service.")
    parts_margin: float = Field(0.30, ge=0, le=1, description="Margin on parts, accessories.")
    # Cost: remedies paid (as recorded) plus these per occurrence.
    rework_cost_cny: Decimal = Field(
        Decimal(1500), description="What a rework (the dealership's own fault) costs it."
    )
    free_visit_cost_cny: Decimal = Field(
        Decimal(300),
        description="What a zero-amount visit costs the dealership (goodwill; warranty work"
        " is reimbursed, but the events do not tell the two apart).",
    )
    complaint_cost_cny: Decimal = Field(
        Decimal(500), description="Staff time of handling one complaint (six steps, call-back)."
    )
    gold_min_value_cny: Decimal = Field(
        Decimal(12_000), description="Gold: lifetime margin at least this."
    )
    gold_min_tenure_days: int = Field(
        365, description="Gold: a customer for at least this long (loyalty needs time)."
    )
    gold_max_cost_share: float = Field(
        0.25, description="Gold: cost to serve at most this share of the value."
    )
    big_purchase_cny: Decimal = Field(
        Decimal(100_000), description="A single purchase this large is a 'big' one (meteor)."
    )
    recency_days: int = Field(
        180, description="A customer with no touchpoint for this long is gone (docs/domain.md 180)."
    )
    regular_service_days: int = Field(
        200, description="Service is regular when paid visits are at most this far apart."
    )
    burden_min_complaints: int = Field(3, description="Burden: at least this many complaints…")
    burden_max_value_cny: Decimal = Field(
        Decimal(10_000), description="…while the lifetime margin stays below this."
    )
    burden_cost_share: float = Field(
        1.0, description="Burden too: cost to serve above this share of the value…"
    )
    burden_min_cost_cny: Decimal = Field(
        Decimal(1000), description="…once that cost is at least this."
    )


class ComplaintTimings(BaseModel):
    """How the read model judges an open complaint against the due times complaints
    recorded (ComplaintClockSet); the due times themselves are complaints' rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at_risk_share: float = Field(
        0.75, description="An open complaint is at risk once this share of its SLA has passed."
    )


class Figures(BaseModel):
    """How the satisfaction figures are read (docs/projections.md, "Repurchase")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repurchase_window_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Repurchase: the observation window after a complaint ended (12 months).",
    )


class ProjectionSettings(BaseSettings):
    """`LAOKE_PROJECTIONS_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_PROJECTIONS_", extra="ignore", frozen=True)

    classes: ClassThresholds = Field(default_factory=ClassThresholds)
    complaints: ComplaintTimings = Field(default_factory=ComplaintTimings)
    figures: Figures = Field(default_factory=Figures)
    dealerships: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-dealership overrides of the complaint timings and the figures.",
    )
    silent_per_complaint: float = Field(
        20.0, description="Silent dissatisfied customers per complaint (docs/domain.md, seed 001)."
    )
    low_score_max: int = Field(
        6, description="A survey or call-back score at most this is 'dissatisfied' (NPS 0-6)."
    )
    classes_max_age_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="The class counts (GET /v1/metrics/classes) are answered from memory"
        " while younger than this, counted again in the background.",
    )
    batch_size: int = Field(500, ge=1, le=10_000, description="Pull batch of the consumer.")
    max_page: int = Field(5000, description="Largest page a list endpoint answers.")

    @model_validator(mode="after")
    def _known_overrides(self) -> ProjectionSettings:
        known = set(ComplaintTimings.model_fields) | set(Figures.model_fields)
        for dealership_id, override in self.dealerships.items():
            if unknown := set(override) - known:
                raise ValueError(f"dealerships.{dealership_id}: unknown {sorted(unknown)}")
            self.timings(dealership_id)  # each override validates here, not at first use
            self.figures_for(dealership_id)
        return self

    def timings(self, dealership_id: str) -> ComplaintTimings:
        return self._overridden(self.complaints, dealership_id)

    def figures_for(self, dealership_id: str) -> Figures:
        return self._overridden(self.figures, dealership_id)

    def _overridden(self, base: M, dealership_id: str) -> M:
        override = self.dealerships.get(dealership_id) or {}
        own = {k: v for k, v in override.items() if k in type(base).model_fields}
        if not own:
            return base
        return type(base).model_validate(base.model_dump() | own)
