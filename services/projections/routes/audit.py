"""`/v1/audit`: the recorded events themselves, streamed from RETENTION."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import nats
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import StreamingResponse

from events.fields import CUSTOMER_ID_PATTERN
from laoke.httpauth import DealershipToAudit
from laoke.service import nats_options
from services.projections.audit import audit_lines
from services.projections.routes.common import PeriodFrom, PeriodTo, bad_param, v1_router
from services.projections.service import ProjectionsService


def audit_connection(service: ProjectionsService) -> dict[str, Any]:
    """A connection of the request's own (its event loop), failing fast if NATS is down."""
    options = nats_options(service.settings)
    return options | {"max_reconnect_attempts": 0, "connect_timeout": 2, "allow_reconnect": False}


def audit_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()

    @router.get(
        "/audit",
        tags=["audit"],
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                "description": "One recorded event per line, hash-chained, then a trailer.",
            }
        },
    )
    async def get_audit(
        dealership_id: DealershipToAudit,
        customer_id: Annotated[str | None, Query(pattern=CUSTOMER_ID_PATTERN)] = None,
        start: PeriodFrom = None,
        end: PeriodTo = None,
    ) -> StreamingResponse:
        """The recorded events themselves, read from RETENTION in stream order (NDJSON;
        chain and trailer described in docs/projections.md)."""
        if start is not None and end is not None and start >= end:
            raise bad_param("from", "must be before `to`")
        try:
            nc = await nats.connect(**audit_connection(service))
        except Exception as exc:  # NATS down or unreachable: say so, as JSON
            raise HTTPException(
                503, detail={"message": f"cannot reach NATS to read RETENTION: {exc}"}
            ) from None

        async def lines() -> AsyncIterator[bytes]:
            try:
                # its own keys: a customer erased meanwhile is read as erased
                keyring = await service.keyring.fresh().start(nc.jetstream())
                async for chunk in audit_lines(
                    nc.jetstream(), dealership_id, customer_id, start, end, keyring
                ):
                    yield chunk
            finally:
                await nc.close()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return router
