"""What the read API's routers share: parameters, errors, and the answer as JSON.

Handlers are plain `def`s: FastAPI runs them in its thread pool, each thread with its own
read connection (SQLite WAL readers never wait for the consumer's writes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel

from laoke.csvstream import wants_csv
from services.projections.models import ErrorPublic
from services.projections.queries import common as queries
from services.projections.queries import paging
from services.projections.service import ProjectionsService

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "Unknown id."},
    422: {"model": ErrorPublic, "description": "A bad parameter (named in `field`)."},
}
DEFAULT_PERIOD = timedelta(days=30)

PageLimit = Annotated[int, Query(ge=1, le=5000, description="Page size.")]
PeriodFrom = Annotated[
    AwareDatetime | None, Query(alias="from", description="Period start (inclusive).")
]
PeriodTo = Annotated[AwareDatetime | None, Query(alias="to", description="Period end (exclusive).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Entries to skip.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        description="The `next_cursor` of the page before (opaque). With `Accept: text/csv`:"
        " the rows from there to the end.",
    ),
]
CSV_CHUNK = 1000  # rows read from the store at a time for a CSV answer


def v1_router() -> APIRouter:
    return APIRouter(prefix="/v1", responses=ERRORS)


def as_json(answer: BaseModel) -> Response:
    """The answer serialised once by pydantic. Returned as a model, FastAPI would validate
    it again against `response_model` before serialising it: half the time of a 500-item
    work list. `response_model` still documents the answer in the OpenAPI."""
    return Response(answer.model_dump_json(), media_type="application/json")


def csv_wanted(request: Request) -> bool:
    """`Accept: text/csv`: the whole list from the cursor on, streamed (laoke/csvstream.py),
    rather than one JSON page."""
    return wants_csv(request.headers.get("accept"))


def position(cursor: str | None, *checks: Callable[[str], object]) -> paging.Key | None:
    """A list's `cursor` parameter decoded (queries/paging.py), or a 422 naming it."""
    if cursor is None:
        return None
    try:
        return paging.decode_cursor(cursor, *checks)
    except ValueError as exc:
        raise bad_param("cursor", str(exc)) from exc


def bad_param(field: str, message: str) -> HTTPException:
    return HTTPException(422, detail={"message": f"{field}: {message}", "field": field})


def not_found(message: str) -> HTTPException:
    return HTTPException(404, detail={"message": message})


def period(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    end = end or now
    if start is None:
        try:
            start = end - DEFAULT_PERIOD
        except OverflowError:  # `to` in the first days of year 1: no period ends there
            raise bad_param("to", "too early for a period to end") from None
    if start >= end:
        raise bad_param("from", "must be before `to`")
    return start, end


def dealership_of(
    service: ProjectionsService,
    table: str,
    column: str,
    ident: str,
    dealerships: frozenset[str] | None,
) -> str:
    """The dealership holding this complaint or referral id, among those searched."""
    found = queries.find_by_id(service.store, table, column, ident, dealerships)
    if not found:
        raise not_found(f"no {column.removesuffix('_id')} {ident!r}")
    if len(found) > 1:
        names = ", ".join(r[0] for r in found)
        raise bad_param(
            "dealership_id", f"{ident!r} exists at several dealerships ({names}): name one"
        )
    return str(found[0][0])
