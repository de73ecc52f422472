"""Response models of the read API's figures (`/v1/metrics/...`): what dashboards may
rely on."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.projections.models import CustomerClassName, Public


class ScorePublic(Public):
    count: int
    mean: float | None


class NpsPublic(Public):
    count: int
    promoters: int
    passives: int
    detractors: int
    score: float | None = Field(description="% promoters − % detractors, −100 to 100.")


class PercentilesPublic(Public):
    count: int
    p50: float | None
    p90: float | None


class RatePublic(Public):
    numerator: int
    denominator: int
    rate: float | None


class StepCountPublic(Public):
    step: int = Field(ge=1, le=6)
    name: str
    reached: int = Field(description="Complaints that reached this step (or a later one).")
    standing: int = Field(description="Of those, the ones not closed whose step is this one.")


class ComplaintCountsPublic(Public):
    total: int
    by_category: dict[str, int]
    funnel: list[StepCountPublic] = Field(
        description="The six steps (docs/domain.md), each with how many complaints reached it"
        " and how many unclosed ones stand at it now."
    )


class RepurchaseRatePublic(RatePublic):
    """Of the complaints whose observation window has ended: those with a paid purchase in
    it (docs/projections.md, "Repurchase")."""

    pending: int = Field(description="Complaints of this outcome still in their window.")


class RepurchasePublic(Public):
    resolved_quickly: RepurchaseRatePublic
    resolved_slowly: RepurchaseRatePublic
    unresolved: RepurchaseRatePublic
    dissatisfied_never_complained: RepurchaseRatePublic


class MetricsGroupPublic(Public):
    group: str = Field(description="Advisor id, department, or 'all'.")
    csi: ScorePublic
    ssi: ScorePublic
    nps: NpsPublic
    complaints: ComplaintCountsPublic
    hours_to_apology: PercentilesPublic = Field(description="Every hour (calendar clock).")
    hours_to_resolution: PercentilesPublic = Field(description="Every hour (calendar clock).")
    business_hours_to_apology: PercentilesPublic = Field(
        description="Opening hours (business clock), as complaints counted them."
    )
    business_hours_to_resolution: PercentilesPublic = Field(
        description="Opening hours (business clock), as complaints counted them."
    )
    resolved_within_sla: RatePublic
    follow_up_completion: RatePublic
    referral_conversion: RatePublic
    repurchase: RepurchasePublic
    silent_dissatisfied_estimate: float = Field(
        description="Complaints × silent dissatisfied customers per complaint (default 20)."
    )


class SatisfactionPublic(Public):
    dealership_id: str
    period_from: datetime
    period_to: datetime
    group_by: Literal["advisor", "department", "none"]
    as_of: datetime
    groups: list[MetricsGroupPublic]


class ClassTotalsPublic(Public):
    customer_class: CustomerClassName
    customers: int
    value_cny: float = Field(description="Their lifetime margin (docs/projections.md).")
    cost_cny: float = Field(
        description="What serving them cost: remedies, reworks, goodwill, complaints handled."
    )


class ClassesPublic(Public):
    dealership_id: str
    as_of: datetime
    classes: list[ClassTotalsPublic] = Field(description="Every class, gold first.")
