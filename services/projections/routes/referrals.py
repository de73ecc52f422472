"""`/v1/referrals`: the referral list (by verdict), and one referral by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from laoke.csvstream import CSV_OPENAPI, columns_of, csv_response
from laoke.httpauth import DealershipsToSearch, DealershipToRead
from services.projections.listmodels import ReferralListPublic
from services.projections.models import Verdict
from services.projections.queries import referrals as queries
from services.projections.referralmodels import ReferralPublic
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
from services.projections.service import ProjectionsService

CSV_COLUMNS = columns_of(ReferralPublic)
StatusFilter = Annotated[Verdict | None, Query(description="Only referrals with this verdict.")]


def referrals_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    settings = service.projection_settings

    @router.get(
        "/referrals",
        response_model=ReferralListPublic,
        responses=CSV_OPENAPI,
        tags=["referrals"],
    )
    def list_referrals(
        request: Request,
        dealership_id: DealershipToRead,
        status: StatusFilter = None,
        limit: PageLimit = 500,
        cursor: Cursor = None,
    ) -> Response:
        """The referrals, oldest claim first, each as `GET /v1/referrals/{id}` answers it;
        `status` = the verdict (`pending`, `verified`, `rejected`, `rewarded`). Paged by
        `cursor` → `next_cursor`; `Accept: text/csv` streams every referral from the cursor
        on."""
        page = queries.ReferralList(
            dealership_id=dealership_id,
            now=service.clock.now(),
            limit=min(limit, settings.max_page),
            status=status,
            after=position(cursor, *queries.CURSOR_CHECKS),
        )
        if csv_wanted(request):
            items = queries.referral_chunks(service.store, page, CSV_CHUNK)
            return csv_response(CSV_COLUMNS, items, f"referrals-{dealership_id}")
        return as_json(queries.referral_list(service.store, page))

    @router.get("/referrals/{referral_id}", response_model=ReferralPublic, tags=["referrals"])
    def get_referral(referral_id: str, dealerships: DealershipsToSearch) -> Response:
        """Claim, checks, verdict, reward."""
        dealership = dealership_of(service, "referrals", "referral_id", referral_id, dealerships)
        found = queries.referral(service.store, dealership, referral_id)
        if found is None:
            raise not_found(f"no referral {referral_id!r}")
        return as_json(found)

    return router
