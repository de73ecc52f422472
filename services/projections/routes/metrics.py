"""`/v1/metrics/satisfaction`: a dealership's satisfaction and retention figures;
`/v1/metrics/classes`: its customers per class."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response

from laoke.httpauth import DealershipToRead
from services.projections.metricmodels import ClassesPublic, SatisfactionPublic
from services.projections.metrics import group_facts, load_facts
from services.projections.queries.classes import class_totals
from services.projections.routes.common import PeriodFrom, PeriodTo, as_json, period, v1_router
from services.projections.service import ProjectionsService


def metrics_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings

    @router.get("/metrics/satisfaction", response_model=SatisfactionPublic, tags=["metrics"])
    def get_satisfaction(
        dealership_id: DealershipToRead,
        start: PeriodFrom = None,
        end: PeriodTo = None,
        group_by: Literal["advisor", "department", "none"] = "none",
    ) -> Response:
        """CSI, SSI, NPS, complaints by category, time to apology and to resolution
        (p50/p90), share resolved within SLA, follow-up completion, referral conversion,
        repurchase by complaint outcome, silent-dissatisfaction estimate (default: last 30
        days)."""
        now = service.clock.now()
        period_from, period_to = period(start, end, now)
        window = timedelta(days=settings.figures_for(dealership_id).repurchase_window_days)
        facts = load_facts(service.store, dealership_id, period_from, period_to, now, window)
        return as_json(
            SatisfactionPublic(
                dealership_id=dealership_id,
                period_from=period_from,
                period_to=period_to,
                group_by=group_by,
                as_of=now,
                groups=group_facts(facts, group_by, settings.silent_per_complaint),
            )
        )

    @router.get("/metrics/classes", response_model=ClassesPublic, tags=["metrics"])
    def get_classes(dealership_id: DealershipToRead) -> Response:
        """The dealership's customers per class (gold, meteor, small_star, burden): how many,
        their value (margin) and what serving them cost, as of now (docs/projections.md)."""
        now = service.clock.now()
        return as_json(class_totals(service.store, dealership_id, now, settings.classes))

    return router
