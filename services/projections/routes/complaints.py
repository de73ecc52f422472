"""`/v1/complaints`: the complaint list (by status, category, advisor, filing period), and
one complaint by id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from events.fields import ENTITY_ID_PATTERN
from events.inbound import ComplaintCategory
from laoke.csvstream import CSV_OPENAPI, columns_of, csv_response
from laoke.httpauth import DealershipsToSearch, DealershipToRead
from services.projections.models import ComplaintListPublic, ComplaintPublic, ComplaintStatus
from services.projections.queries import complaints as queries
from services.projections.routes.common import (
    CSV_CHUNK,
    Cursor,
    Offset,
    PageLimit,
    PeriodFrom,
    PeriodTo,
    as_json,
    bad_param,
    csv_wanted,
    dealership_of,
    not_found,
    period,
    position,
    v1_router,
)
from services.projections.service import ProjectionsService

CSV_COLUMNS = columns_of(ComplaintPublic)
StatusFilter = Annotated[
    ComplaintStatus | None,
    Query(description="Only complaints in this state (open + escalated = every unresolved one)."),
]
CategoryFilter = Annotated[
    ComplaintCategory | None, Query(description="Only complaints of this category.")
]
AdvisorFilter = Annotated[
    str | None, Query(pattern=ENTITY_ID_PATTERN, description="Only this advisor's complaints.")
]


def complaints_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings

    @router.get(
        "/complaints",
        response_model=ComplaintListPublic,
        responses=CSV_OPENAPI,
        tags=["complaints"],
    )
    def list_complaints(
        request: Request,
        dealership_id: DealershipToRead,
        status: StatusFilter = None,
        category: CategoryFilter = None,
        advisor_id: AdvisorFilter = None,
        start: PeriodFrom = None,
        end: PeriodTo = None,
        offset: Offset = 0,
        limit: PageLimit = 500,
        cursor: Cursor = None,
    ) -> Response:
        """The complaints, oldest filing first, each as `GET /v1/complaints/{id}` answers it:
        for SLA boards, funnels and the ops lists. Filters `status`, `category`,
        `advisor_id` combine. Filing period `from`/`to`: without `status` it defaults to
        the last 30 days (as this list always has); with `status` only the bounds given
        apply (every open complaint, however old). Paged by `cursor` → `next_cursor`
        (complaints filed meanwhile are neither repeated nor skipped). `Accept: text/csv`:
        every complaint from the cursor (or the top) to the end, streamed."""
        now = service.clock.now()
        filed_from: datetime | None
        filed_to: datetime | None
        if status is None:
            filed_from, filed_to = period(start, end, now)
        elif start is not None and end is not None and start >= end:
            raise bad_param("from", "must be before `to`")
        else:
            filed_from, filed_to = start, end
        page = queries.ComplaintList(
            dealership_id=dealership_id,
            now=now,
            limit=min(limit, settings.max_page),
            status=status,
            category=category,
            advisor_id=advisor_id,
            filed_from=filed_from,
            filed_to=filed_to,
            offset=offset,
            after=position(cursor, *queries.CURSOR_CHECKS),
        )
        if csv_wanted(request):
            items = queries.complaint_chunks(service.store, page, settings, CSV_CHUNK)
            return csv_response(CSV_COLUMNS, items, f"complaints-{dealership_id}")
        return as_json(queries.complaint_list(service.store, page, settings))

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
