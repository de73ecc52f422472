"""`/v1/followups`: the call centre's work list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from events.fields import ENTITY_ID_PATTERN, Channel
from events.recorded import FollowUpReason
from laoke.csvstream import CSV_OPENAPI, columns_of, csv_response
from laoke.httpauth import DealershipToRead
from services.projections.models import FollowUpListPublic, FollowUpPublic, FollowUpStatus
from services.projections.queries import followups as queries
from services.projections.routes.common import (
    CSV_CHUNK,
    Cursor,
    PageLimit,
    csv_wanted,
    position,
    v1_router,
)
from services.projections.service import ProjectionsService

CSV_COLUMNS = columns_of(FollowUpPublic)
AdvisorFilter = Annotated[
    str | None, Query(pattern=ENTITY_ID_PATTERN, description="Only this advisor's follow-ups.")
]
ReasonFilter = Annotated[FollowUpReason | None, Query(description="Only follow-ups for this.")]
ChannelFilter = Annotated[Channel | None, Query(description="Only follow-ups on this channel.")]


def followups_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings

    @router.get(
        "/followups", response_model=FollowUpListPublic, responses=CSV_OPENAPI, tags=["outreach"]
    )
    def get_followups(
        request: Request,
        dealership_id: DealershipToRead,
        status: FollowUpStatus = "due",
        advisor_id: AdvisorFilter = None,
        reason: ReasonFilter = None,
        channel: ChannelFilter = None,
        limit: PageLimit = 500,
        cursor: Cursor = None,
    ) -> Response:
        """The call centre's work list, oldest due time first: `due` = open follow-ups whose
        time has come (overdue included), `upcoming` = open ones not due yet, `overdue` =
        open ones past their due time (`due` without those due this very moment), `done`,
        `skipped`, `expired` (left open past their useful life). Each item names the
        customer (name, primary phone, class), the vehicle it is about, the advisor,
        reason, channel, its expiry and the contact rules that applied.
        Paged by `cursor`: pass the answer's `next_cursor` for the next page (null on the
        last); items planned meanwhile are neither repeated nor skipped. `Accept: text/csv`:
        every item from the cursor (or the top) to the end, one row each, streamed."""
        page = queries.WorkList(
            dealership_id=dealership_id,
            status=status,
            now=service.clock.now(),
            limit=min(limit, settings.max_page),
            advisor_id=advisor_id,
            reason=reason,
            channel=channel,
            after=position(cursor, *queries.CURSOR_CHECKS),
        )
        if csv_wanted(request):
            items = queries.followup_chunks(service.store, page, settings.classes, CSV_CHUNK)
            return csv_response(CSV_COLUMNS, items, f"followups-{dealership_id}-{status}")
        answer = queries.followup_list_json(service.store, page, settings.classes)
        return Response(answer, media_type="application/json")  # see followup_list_json

    return router
