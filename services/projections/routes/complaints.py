"""`/v1/complaints`: the complaints filed in a period, and one complaint by id."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from laoke.httpauth import DealershipsToSearch, DealershipToRead
from services.projections.models import ComplaintListPublic, ComplaintPublic
from services.projections.queries import complaints as queries
from services.projections.routes.common import (
    Offset,
    PageLimit,
    PeriodFrom,
    PeriodTo,
    as_json,
    dealership_of,
    not_found,
    period,
    v1_router,
)
from services.projections.service import ProjectionsService


def complaints_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings

    @router.get("/complaints", response_model=ComplaintListPublic, tags=["complaints"])
    def list_complaints(
        dealership_id: DealershipToRead,
        start: PeriodFrom = None,
        end: PeriodTo = None,
        offset: Offset = 0,
        limit: PageLimit = 500,
    ) -> Response:
        """The complaints filed in the period (default: last 30 days), oldest first, each as
        `GET /v1/complaints/{id}` answers it: for funnels and SLA boards."""
        now = service.clock.now()
        period_from, period_to = period(start, end, now)
        found = queries.complaints_filed(
            service.store,
            dealership_id,
            period_from,
            period_to,
            now,
            settings,
            offset,
            min(limit, settings.max_page),
        )
        return as_json(found)

    @router.get("/complaints/{complaint_id}", response_model=ComplaintPublic, tags=["complaints"])
    def get_complaint(complaint_id: str, dealerships: DealershipsToSearch) -> Response:
        """Current step (1–6), time of each step, remedy, SLA state (by the service clock)."""
        dealership = dealership_of(service, "complaints", "complaint_id", complaint_id, dealerships)
        found = queries.complaint(
            service.store, dealership, complaint_id, service.clock.now(), settings
        )
        if found is None:
            raise not_found(f"no complaint {complaint_id!r}")
        return as_json(found)

    return router
