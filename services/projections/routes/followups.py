"""`/v1/followups`: the outreach work list."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from laoke.httpauth import DealershipToRead
from services.projections.models import FollowUpListPublic, FollowUpStatus
from services.projections.queries import followups as queries
from services.projections.routes.common import PageLimit, v1_router
from services.projections.service import ProjectionsService


def followups_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings

    @router.get("/followups", response_model=FollowUpListPublic, tags=["outreach"])
    def get_followups(
        dealership_id: DealershipToRead,
        status: FollowUpStatus = "due",
        limit: PageLimit = 500,
    ) -> Response:
        """The outreach work list by due time: `due` (not yet past due), `overdue`, `done`,
        `skipped`; each with its reason and the contact rules that applied."""
        page = queries.followup_list_json(
            service.store, dealership_id, status, service.clock.now(), min(limit, settings.max_page)
        )
        return Response(page, media_type="application/json")  # no models: see followup_list_json

    return router
