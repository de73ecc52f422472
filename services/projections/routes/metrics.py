"""`/v1/metrics/satisfaction`: satisfaction and retention figures of one or several
dealerships, cut by dealership, department and advisor; `/v1/metrics/retention`: where new
customers come from and why customers are lost, cut the same way; `/v1/metrics/classes`:
their customers per class."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from laoke.httpauth import DealershipsToRead
from services.projections.metricmodels import ClassesPublic, SatisfactionPublic
from services.projections.metrics import (
    Dimension,
    Fact,
    Knobs,
    cut_facts,
    dimensions_of,
    group_facts,
)
from services.projections.queries.classes import ClassCut
from services.projections.queries.figures import load_facts
from services.projections.queries.retention import load_retention_facts
from services.projections.retention import summarise_retention
from services.projections.retentionmodels import RetentionPublic
from services.projections.routes.common import (
    PeriodFrom,
    PeriodTo,
    as_json,
    bad_param,
    period,
    v1_router,
)
from services.projections.service import ProjectionsService

GroupBy = Annotated[
    str,
    Query(
        max_length=64,
        description="'none', or any of dealership, department, advisor joined by ',' (e.g."
        " 'department,advisor'): one group per value.",
    ),
]


def metrics_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings
    knobs = Knobs(settings.silent_per_complaint, settings.low_score_max)

    def cut(
        group_by: str, start: datetime | None, end: datetime | None
    ) -> tuple[tuple[Dimension, ...], datetime, tuple[datetime, datetime]]:
        """A figures request's groups (400 when unknown), its time and its period."""
        try:
            dimensions = dimensions_of(group_by)
        except ValueError as exc:
            raise bad_param("group_by", str(exc)) from None
        now = service.clock.now()
        return dimensions, now, period(start, end, now)

    @router.get("/metrics/satisfaction", response_model=SatisfactionPublic, tags=["metrics"])
    def get_satisfaction(
        dealerships: DealershipsToRead,
        start: PeriodFrom = None,
        end: PeriodTo = None,
        group_by: GroupBy = "none",
        baseline: Annotated[
            bool,
            Query(
                description="Also the never-complained customers' repurchase (seed 004's"
                " 'twice as loyal' comparison): reads every paid purchase of the period."
            ),
        ] = False,
    ) -> Response:
        """CSI, SSI, NPS, dissatisfaction (shares of low scores and detractors, the silent
        estimate, fixed against never-complained repurchase), complaints by category, time
        to apology and to resolution (p50/p90), share resolved within SLA, follow-up
        completion, referral conversion, repurchase by complaint outcome (default: last 30
        days). Several `dealership_id`s roll up; `group_by` cuts."""
        dimensions, now, (period_from, period_to) = cut(group_by, start, end)
        facts: list[Fact] = []
        for dealership_id in dealerships:
            window = timedelta(days=settings.figures_for(dealership_id).repurchase_window_days)
            facts += load_facts(
                service.store, dealership_id, period_from, period_to, now, window, baseline
            )
        return as_json(
            SatisfactionPublic(
                dealership_id=dealerships[0] if len(dealerships) == 1 else None,
                dealership_ids=list(dealerships),
                period_from=period_from,
                period_to=period_to,
                group_by=",".join(dimensions) or "none",
                as_of=now,
                groups=group_facts(facts, dimensions, replace(knobs, baseline=baseline)),
            )
        )

    @router.get("/metrics/retention", response_model=RetentionPublic, tags=["metrics"])
    def get_retention(
        dealerships: DealershipsToRead,
        start: PeriodFrom = None,
        end: PeriodTo = None,
        group_by: GroupBy = "none",
    ) -> Response:
        """Where the period's new customers came from (a referral claim naming them, else
        their first touchpoint: an event, a walk-in, a call in, other) and how many bought
        a car since; the customers lost in the period (no touchpoint for `lapse_days`)
        by what their last months show: a complaint, dissatisfaction, a last call, neglect
        (no contact made by the dealership), or in touch (default: last 30 days). Several
        `dealership_id`s roll up; `group_by` cuts."""
        dimensions, now, (period_from, period_to) = cut(group_by, start, end)
        facts: list[Fact] = []
        for dealership_id in dealerships:
            facts += load_retention_facts(
                service.store, dealership_id, period_from, period_to, now, settings.classes
            )
        return as_json(
            RetentionPublic(
                dealership_id=dealerships[0] if len(dealerships) == 1 else None,
                dealership_ids=list(dealerships),
                period_from=period_from,
                period_to=period_to,
                group_by=",".join(dimensions) or "none",
                lapse_days=settings.classes.recency_days,
                as_of=now,
                groups=cut_facts(facts, dimensions, summarise_retention),
            )
        )

    @router.get("/metrics/classes", response_model=ClassesPublic, tags=["metrics"])
    def get_classes(
        dealerships: DealershipsToRead,
        group_by: Annotated[
            ClassCut, Query(description="'none', 'dealership' or 'advisor' (the customer's).")
        ] = "none",
    ) -> Response:
        """The customers per class (gold, meteor, small_star, burden): how many, their
        value (margin) and what serving them cost, as of `as_of`: counted at most
        `classes_max_age_s` (60 s) before (docs/projections.md). Several `dealership_id`s
        roll up; `group_by` cuts."""
        now = service.clock.now()
        return as_json(service.class_counts.answer(dealerships, now, group_by))

    return router
