"""POST /v1/events: the HTTP way in, through the same path as NATS (validate, resolve, record)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, Body, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from laoke.httpauth import WritableDealerships
from services.intake.application import Inbound, Verdict
from services.intake.service import IntakeService


class EventResultPublic(BaseModel):
    index: int
    status: Literal["accepted", "duplicate", "rejected", "queued"]
    event_id: str | None = None
    customer_id: str | None = None
    reason: str | None = None
    message: str | None = None


class SubmitResultPublic(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    queued: int = Field(
        0,
        description="Forwarded to the replica that runs the event's dealership "
        "(LAOKE_PARTITIONS > 1): stored on DEALER_IN, recorded by that replica.",
    )
    results: list[EventResultPublic]


def _public(index: int, verdict: Verdict) -> EventResultPublic:
    return EventResultPublic(
        index=index,
        status=verdict.status,
        event_id=verdict.event_id,
        customer_id=verdict.customer_id,
        reason=verdict.reason,
        message=verdict.message,
    )


def _json_bytes(item: Any) -> bytes:
    try:
        return json.dumps(item, ensure_ascii=False).encode()
    except RecursionError:
        # FastAPI's parser got through it, re-encoding it here (deeper in the stack) did not.
        raise HTTPException(422, "an event is nested too deeply to be an event") from None
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800" in the request) cannot be UTF-8: keep it escaped, as
        # it was sent, so that the parser refuses it (bad_json) instead of a 500 here.
        return json.dumps(item).encode()


def refusal(index: int, item: Any, writable: frozenset[str] | None) -> EventResultPublic | None:
    """The rejection of an event for a dealership the key may not write for, else None
    (events naming no dealership go on: intake rejects them with its own reason)."""
    dealership = item.get("dealership_id") if isinstance(item, dict) else None
    if writable is None or not isinstance(dealership, str) or dealership in writable:
        return None
    event_id = item.get("event_id")
    return EventResultPublic(
        index=index,
        status="rejected",
        event_id=event_id if isinstance(event_id, str) else None,
        reason="forbidden_dealership",
        message=f"this key may not write for {dealership!r}",
    )


def build_router(service: IntakeService) -> APIRouter:
    router = APIRouter(tags=["intake"])

    @router.post(
        "/v1/events",
        response_model=SubmitResultPublic,
        responses={
            403: {"description": "Every event names a dealership the API key may not write."},
            422: {"description": "Every event was rejected (each result says why)."},
            413: {"description": "Too many events in one request."},
        },
        summary="Submit one inbound event (a JSON object) or several (a JSON array)",
    )
    async def submit_events(
        payload: Annotated[Any, Body(description="One event object, or an array of them.")],
        writable: WritableDealerships,
    ) -> Any:
        items = payload if isinstance(payload, list) else [payload]
        if len(items) > service.intake_settings.max_array:
            raise HTTPException(
                413, f"at most {service.intake_settings.max_array} events per request"
            )
        if not items:
            raise HTTPException(422, "the array holds no event")
        # Each event is refused on its own: the others of the request go on.
        refused = {i: r for i, item in enumerate(items) if (r := refusal(i, item, writable))}
        allowed = [index for index in range(len(items)) if index not in refused]
        request_id = uuid4()
        batch = [
            Inbound(
                _json_bytes(items[index]),
                None,
                {"Laoke-Via": "http"},
                f"http:{request_id}:{index}",
            )
            for index in allowed
        ]
        verdicts = await service.submit(batch) if batch else []
        answered = refused | {i: _public(i, v) for i, v in zip(allowed, verdicts, strict=True)}
        results = [answered[index] for index in range(len(items))]
        body = SubmitResultPublic(
            accepted=sum(r.status == "accepted" for r in results),
            duplicate=sum(r.status == "duplicate" for r in results),
            rejected=sum(r.status == "rejected" for r in results),
            queued=sum(r.status == "queued" for r in results),
            results=results,
        )
        if body.rejected == len(results):
            status = 422 if allowed else 403
            content = {"message": results[0].message or "rejected"} | body.model_dump()
            return JSONResponse(content, status_code=status)
        return body

    return router
