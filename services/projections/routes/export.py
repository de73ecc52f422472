"""`/v1/customers/{customer_id}/export`: everything held about a person (PIPL access
request), for keys with the privacy scope (docs/privacy.md)."""

from __future__ import annotations

import nats
from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from laoke.httpauth import ExportableDealerships
from laoke.threads import in_thread
from services.projections.export import recorded_events
from services.projections.exportmodels import ExportPublic
from services.projections.models import ErrorPublic
from services.projections.queries.export import held_about
from services.projections.routes.audit import audit_connection
from services.projections.routes.common import as_json, not_found, v1_router
from services.projections.service import ProjectionsService


def export_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()

    @router.get(
        "/customers/{customer_id}/export",
        response_model=ExportPublic,
        tags=["customers"],
        responses={
            403: {"model": ErrorPublic, "description": "The key has no privacy scope."},
            503: {"model": ErrorPublic, "description": "RETENTION cannot be read now."},
        },
    )
    async def export_customer(customer_id: str, dealerships: ExportableDealerships) -> Response:
        """Everything held about the person, one JSON document: profile (with the consent
        history), timeline, complaints, follow-ups, referrals, surveys, and every event
        recorded under their ids (merged ids included), read back from RETENTION. Keys
        with the privacy scope only (`laoke keys create --privacy`)."""
        now = service.clock.now()
        held = await in_thread(
            held_about, service.store, customer_id, now, service.projection_settings, dealerships
        )
        if held is None:
            raise not_found(f"no customer {customer_id!r}")
        try:
            nc = await nats.connect(**audit_connection(service))
        except Exception as exc:  # NATS down or unreachable: say so, as JSON
            raise HTTPException(
                503, detail={"message": f"cannot reach NATS to read RETENTION: {exc}"}
            ) from None
        try:
            keyring = await service.keyring.fresh().start(nc.jetstream())  # its own keys
            js = nc.jetstream()
            events = await recorded_events(js, held.dealership_id, held.customer_ids, keyring)
        finally:
            await nc.close()
        return as_json(held.model_copy(update={"events": events}))

    return router
