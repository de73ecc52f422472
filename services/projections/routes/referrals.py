"""`/v1/referrals`: one referral by id."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from laoke.httpauth import DealershipsToSearch
from services.projections.models import ReferralPublic
from services.projections.queries import referrals as queries
from services.projections.routes.common import as_json, dealership_of, not_found, v1_router
from services.projections.service import ProjectionsService


def referrals_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()

    @router.get("/referrals/{referral_id}", response_model=ReferralPublic, tags=["referrals"])
    def get_referral(referral_id: str, dealerships: DealershipsToSearch) -> Response:
        """Claim, checks, verdict, reward."""
        dealership = dealership_of(service, "referrals", "referral_id", referral_id, dealerships)
        found = queries.referral(service.store, dealership, referral_id)
        if found is None:
            raise not_found(f"no referral {referral_id!r}")
        return as_json(found)

    return router
