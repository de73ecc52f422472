"""POST /v1/events: the HTTP way in, through the same path as NATS (validate, resolve, record).

Every refusal is dead-lettered and counted as on NATS, the door's own too: an event for a
dealership the key may not write (`forbidden_dealership`), each event of a request over
LAOKE_INTAKE_MAX_ARRAY (`too_many_events`), a body that is not JSON (`bad_json`), and a
body longer than LAOKE_INTAKE_MAX_ARRAY full-size events (`oversize`): reading stops there, so
one request cannot hold the server's memory, and its first 64 KiB are the dead letter.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from uuid import uuid4

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from events.fields import DEALERSHIP_ID_PATTERN
from events.subjects import MAX_MESSAGE_BYTES
from laoke import tracing
from laoke.auth import Access
from laoke.httpauth import CallerAccess
from services.intake.application import Inbound, Verdict
from services.intake.service import IntakeService

_DEALERSHIP = re.compile(DEALERSHIP_ID_PATTERN)
# The door's own reasons (intake's parser has the others: events.errors.REASONS).
DOOR_REASONS = frozenset({"forbidden_dealership", "too_many_events"})
REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"title": "Payload", "description": "One event object, or an array of them."}
        }
    },
}


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


def _public(index: int, verdict: Verdict, item: Any) -> EventResultPublic:
    event_id = verdict.event_id
    if verdict.reason in DOOR_REASONS and isinstance(item, dict):
        sent = item.get("event_id")  # refused unread: its id as it sent it
        event_id = sent if isinstance(sent, str) else None
    return EventResultPublic(
        index=index,
        status=verdict.status,
        event_id=event_id,
        customer_id=verdict.customer_id,
        reason=verdict.reason,
        message=verdict.message,
    )


async def _body(request: Request, limit: int) -> tuple[bytes, bool]:
    """(the body, True), or (its first 64 KiB, False) once it grows past `limit` bytes:
    reading stops there."""
    declared = request.headers.get("content-length", "")
    too_long = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or (too_long and size >= MAX_MESSAGE_BYTES):
            too_long = True
            break
    body = b"".join(chunks)
    return (body[:MAX_MESSAGE_BYTES], False) if too_long else (body, True)


def _json_bytes(item: Any) -> bytes:
    try:
        return json.dumps(item, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800" in the request) cannot be UTF-8: keep it escaped, as
        # it was sent, so that the parser refuses it (bad_json) instead of a 500 here.
        return json.dumps(item).encode()


def _events(raw: bytes) -> tuple[list[Any], list[bytes]]:
    """The request's events and each one's bytes for intake. A body that is not JSON is one
    event, its bytes as sent: intake refuses it (`bad_json`) and dead-letters it like any
    other refusal."""
    try:
        payload = json.loads(raw)
        items = payload if isinstance(payload, list) else [payload]
        return items, [_json_bytes(item) for item in items]
    except (ValueError, RecursionError):  # (re-encoding, deeper in the stack, may recurse)
        return [None], [raw]


def sender(item: Any, access: Access) -> str | None:
    """The dealership a refused event is listed under (GET /v1/dead-letters): the one it
    names when the key may write for it, else the key's own when it has only one. Never a
    dealership the key may not write for, which would show it the sender's body."""
    named = item.get("dealership_id") if isinstance(item, dict) else None
    if isinstance(named, str) and _DEALERSHIP.fullmatch(named) and access.can_write(named):
        return named
    own = access.key.dealerships if access.key is not None else ()
    return own[0] if len(own) == 1 else None


def door_refusal(item: Any, access: Access, too_many: str | None) -> tuple[str, str] | None:
    """(reason, message) when the door refuses the event before intake reads it."""
    if too_many is not None:
        return "too_many_events", too_many
    dealership = item.get("dealership_id") if isinstance(item, dict) else None
    if not isinstance(dealership, str) or access.can_write(dealership):
        return None  # events naming no dealership go on: intake rejects them itself
    return "forbidden_dealership", f"this key may not write for {dealership!r}"


def build_router(service: IntakeService) -> APIRouter:
    router = APIRouter(tags=["intake"])
    most = service.intake_settings.max_array
    longest = (most + 1) * MAX_MESSAGE_BYTES  # `most` events of the contract's largest size

    @router.post(
        "/v1/events",
        response_model=SubmitResultPublic,
        responses={
            403: {"description": "Every event names a dealership the API key may not write."},
            422: {"description": "Every event was rejected (each result says why)."},
            413: {
                "description": "Too many events in one request (each is dead-lettered), or a"
                " body over LAOKE_INTAKE_MAX_ARRAY events of 64 KiB (its head is)."
            },
        },
        openapi_extra={"requestBody": REQUEST_BODY},
        summary="Submit one inbound event (a JSON object) or several (a JSON array)",
    )
    async def submit_events(request: Request, access: CallerAccess) -> Any:
        raw, whole = await _body(request, longest)
        if not whole:
            return await _too_long(service, raw, access, longest)
        items, data = _events(raw)
        if not items:
            raise HTTPException(422, "the array holds no event")
        too_many = None
        if len(items) > most:
            too_many = f"at most {most} events per request, not {len(items)}"
        request_id = uuid4()
        via = _via(access)
        batch = [
            Inbound(
                data[index],
                None,
                via,
                f"http:{request_id}:{index}",
                dealership=sender(item, access),
                refusal=door_refusal(item, access, too_many),
            )
            for index, item in enumerate(items)
        ]
        verdicts = await service.submit(batch)
        results = [_public(i, v, items[i]) for i, v in enumerate(verdicts)]
        body = SubmitResultPublic(
            accepted=sum(r.status == "accepted" for r in results),
            duplicate=sum(r.status == "duplicate" for r in results),
            rejected=sum(r.status == "rejected" for r in results),
            queued=sum(r.status == "queued" for r in results),
            results=results,
        )
        if too_many is not None:
            return _refused(413, too_many, body)
        if body.rejected == len(results):
            forbidden = all(r.reason == "forbidden_dealership" for r in results)
            return _refused(403 if forbidden else 422, results[0].message or "rejected", body)
        return body

    return router


def _via(access: CallerAccess) -> dict[str, str]:
    via = {"Laoke-Via": "http"} | (
        {"Laoke-Api-Key": access.key.id} if access.key is not None else {}
    )
    tracing.inject(via)  # the request's trace, linked from each event's (tracing.py)
    return via


async def _too_long(
    service: IntakeService, head: bytes, access: CallerAccess, longest: int
) -> JSONResponse:
    """A body over `longest` bytes: one dead letter holding its head, the request refused."""
    message = f"the body is over {longest} bytes (LAOKE_INTAKE_MAX_ARRAY events of 64 KiB)"
    letter = Inbound(
        head,
        None,
        _via(access),
        f"http:{uuid4()}:0",
        dealership=sender(None, access),
        refusal=("oversize", message),
    )
    (verdict,) = await service.submit([letter])
    body = SubmitResultPublic(
        accepted=0, duplicate=0, rejected=1, results=[_public(0, verdict, None)]
    )
    return _refused(413, message, body)


def _refused(status: int, message: str, body: SubmitResultPublic) -> JSONResponse:
    return JSONResponse({"message": message} | body.model_dump(), status_code=status)
