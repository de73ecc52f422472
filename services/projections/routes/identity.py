"""`/v1/vehicles/{vin}` (owners over time, services) and `/v1/identity/merges` (merges with
their evidence, newest first): identity as docs/identity.md describes it."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from laoke.csvstream import CSV_OPENAPI, columns_of, csv_response
from laoke.httpauth import DealershipsToSearch, DealershipToRead
from services.projections.identitymodels import MergeListPublic, MergePublic, VehiclePublic
from services.projections.queries import identity as queries
from services.projections.routes.common import (
    CSV_CHUNK,
    Cursor,
    PageLimit,
    as_json,
    csv_wanted,
    dealership_of,
    not_found,
    position,
    v1_router,
)
from services.projections.routes.customers import VIN_QUERY_PATTERN
from services.projections.service import ProjectionsService

CSV_COLUMNS = columns_of(MergePublic)


def identity_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings

    @router.get("/vehicles/{vin}", response_model=VehiclePublic, tags=["customers"])
    def get_vehicle(
        dealerships: DealershipsToSearch,
        vin: str = Path(pattern=VIN_QUERY_PATTERN, description="The vehicle's VIN."),
    ) -> Response:
        """A vehicle's owners over time (a car sold on keeps its history; each owner keeps
        theirs) and its services, oldest first."""
        vin = vin.upper()
        dealership = dealership_of(service, "vehicles", "vin", vin, dealerships)
        found = queries.vehicle(service.store, dealership, vin)
        if found is None:
            raise not_found(f"no vehicle {vin!r}")
        return as_json(found)

    @router.get(
        "/identity/merges",
        response_model=MergeListPublic,
        responses=CSV_OPENAPI,
        tags=["customers"],
    )
    def list_merges(
        request: Request,
        dealership_id: DealershipToRead,
        limit: PageLimit = 500,
        cursor: Cursor = None,
    ) -> Response:
        """The customer merges intake decided, newest first, each with the person keys that
        tied the customers (its evidence) and its split, if undone. Paged by `cursor` →
        `next_cursor`; `Accept: text/csv` streams every merge from the cursor on."""
        page = queries.MergeList(
            dealership_id=dealership_id,
            now=service.clock.now(),
            limit=min(limit, settings.max_page),
            after=position(cursor, *queries.CURSOR_CHECKS),
        )
        if csv_wanted(request):
            items = queries.merge_chunks(service.store, page, CSV_CHUNK)
            return csv_response(CSV_COLUMNS, items, f"merges-{dealership_id}")
        return as_json(queries.merge_list(service.store, page))

    return router
