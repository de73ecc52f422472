"""Response models of the read API's figures (`/v1/metrics/...`): what dashboards may
rely on."""

from __future__ import annotations

from datetime import datetime

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


class LowShare(Public):
    answers: int
    low: int = Field(description="Answers scoring 6 or less (`low_score_max`): dissatisfied.")
    share: float | None = Field(description="low ÷ answers.")


class SilentEstimatePublic(Public):
    complaints: int
    per_complaint: float = Field(description="`silent_per_complaint` (default 20).")
    estimate: float = Field(description="complaints × per_complaint: dissatisfied, silent.")
    signalled: int = Field(
        description="Customers seen dissatisfied in the period (a low score, a risk flag, a"
        " breached scope change) with no complaint: the silent ones the data shows."
    )
    assumption: str = Field(description="What the estimate assumes, in words.")


class FixedVersusUntroubledPublic(Public):
    """Seed 004: a customer whose problem was fixed is often twice as loyal as one who never
    had a problem."""

    fixed: RepurchaseRatePublic = Field(
        description="Repurchase after a complaint resolved (quickly or slowly)."
    )
    never_complained: RepurchaseRatePublic | None = Field(
        description="Repurchase after a paid purchase in the period, by customers with no"
        " complaint and no dissatisfaction signal; null unless asked for (`baseline=true`:"
        " it reads every paid purchase of the period)."
    )
    ratio: float | None = Field(description="fixed ÷ never_complained (seed 004: about 2).")


class DissatisfactionPublic(Public):
    """Dissatisfaction beside the means (seed 001: 65-85 % of lost customers said they were
    satisfied; watch dissatisfaction and silence)."""

    csi_low: LowShare
    ssi_low: LowShare
    nps_detractors: LowShare = Field(description="NPS answers 0-6.")
    silent: SilentEstimatePublic
    fixed_versus_untroubled: FixedVersusUntroubledPublic


class MetricsGroupPublic(Public):
    group: str = Field(
        description="The group's dealership, department and advisor as cut (`group_by`),"
        " joined by '/'; 'all' when not cut."
    )
    dealership_id: str | None = Field(None, description="When cut by dealership.")
    department: str | None = Field(None, description="When cut by department.")
    advisor_id: str | None = Field(None, description="When cut by advisor.")
    csi: ScorePublic
    ssi: ScorePublic
    nps: NpsPublic
    dissatisfaction: DissatisfactionPublic
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


class FiguresPublic(Public):
    """What every figures answer begins with: whose, over when, cut how."""

    dealership_id: str | None = Field(description="The dealership, when one was asked for.")
    dealership_ids: list[str] = Field(description="The dealerships the figures are over.")
    period_from: datetime
    period_to: datetime
    group_by: str = Field(
        description="The dimensions cut by: 'none', or dealership, department and/or advisor"
        " joined by ','."
    )


class SatisfactionPublic(FiguresPublic):
    as_of: datetime
    groups: list[MetricsGroupPublic]


class ClassTotalsPublic(Public):
    customer_class: CustomerClassName
    customers: int
    value_cny: float = Field(description="Their lifetime margin (docs/projections.md).")
    cost_cny: float = Field(
        description="What serving them cost: remedies, reworks, goodwill, complaints handled."
    )


class ClassGroupPublic(Public):
    group: str = Field(description="The dealership or advisor id ('unassigned': none).")
    classes: list[ClassTotalsPublic] = Field(description="Every class, gold first.")


class ClassesPublic(Public):
    dealership_id: str | None = Field(description="The dealership, when one was asked for.")
    dealership_ids: list[str] = Field(description="The dealerships counted.")
    as_of: datetime
    classes: list[ClassTotalsPublic] = Field(description="Every class, gold first: all of them.")
    group_by: str = Field(description="'none', 'dealership' or 'advisor'.")
    groups: list[ClassGroupPublic] = Field(
        description="The same per dealership or advisor (`group_by`); empty for 'none'."
    )
