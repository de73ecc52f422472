"""`/v1/dead-letters`: a dealership's refused events, for the sending systems' engineers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from laoke.csvstream import CSV_OPENAPI, columns_of, csv_response
from laoke.httpauth import DealershipsToSearch, DealershipToRead
from services.projections.deadletters import queries
from services.projections.deadletters.models import DeadLetterListPublic, DeadLetterPublic
from services.projections.models import ErrorPublic
from services.projections.routes.common import (
    CSV_CHUNK,
    Cursor,
    PeriodFrom,
    PeriodTo,
    as_json,
    bad_param,
    csv_wanted,
    not_found,
    position,
    v1_router,
)
from services.projections.service import ProjectionsService

INTAKE = "intake"  # the service that refuses inbound events (others' letters are ops')
MAX_PAGE = 500  # a letter may carry up to 1 MiB of body (an oversize one)

ReasonFilter = Annotated[
    str | None,
    Query(pattern=r"^[a-z0-9_-]{1,64}$", description="Only letters refused for this reason."),
]
CSV_COLUMNS = columns_of(DeadLetterPublic)
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")]
Seq = Annotated[int, Path(ge=1, le=2**63 - 1, description="The letter's RETENTION_DLQ sequence.")]


def dead_letters_router(service: ProjectionsService) -> APIRouter:
    router = v1_router()
    store = service.dead_letters

    @router.get(
        "/dead-letters",
        response_model=DeadLetterListPublic,
        responses=CSV_OPENAPI,
        tags=["intake"],
    )
    def get_dead_letters(
        request: Request,
        dealership_id: DealershipToRead,
        reason: ReasonFilter = None,
        start: PeriodFrom = None,
        end: PeriodTo = None,
        limit: Limit = 100,
        cursor: Cursor = None,
    ) -> Response:
        """The dealership's refused events, newest first: when, the reason and the error
        (naming the field), the original body and headers, and each re-drive by ops (`laoke
        dlq redrive`) with the letter it became if refused again. Every refusal is here,
        whichever way it came (NATS, or `POST /v1/events`: a dealership the key may not
        write, too many events in one request, a body that is not JSON), for as long as
        RETENTION_DLQ keeps it (90 days). Paged by `cursor`: pass the answer's
        `next_cursor` for the next page; letters refused meanwhile do not disturb it.
        `Accept: text/csv` streams every letter from the cursor on."""
        if start is not None and end is not None and start >= end:
            raise bad_param("from", "must be before `to`")
        # The wall clock, not the service's: letters are timed, and expire, by the server's.
        now = datetime.now(UTC)
        query = queries.LetterQuery(
            now=now,
            limit=limit,
            dealership_id=dealership_id,
            service=INTAKE,
            reason=reason,
            start=start,
            end=end,
            before=position(cursor, *queries.CURSOR_CHECKS),
        )
        if csv_wanted(request):
            chunks = (
                [letter.model_dump(mode="json") for letter in letters]
                for letters in queries.letter_chunks(store, query, CSV_CHUNK)
            )
            return csv_response(CSV_COLUMNS, chunks, f"dead-letters-{dealership_id}")
        items, next_cursor = queries.letter_page(store, query)
        answer = DeadLetterListPublic(
            dealership_id=dealership_id,
            as_of=now,
            count=len(items),
            items=items,
            next_cursor=next_cursor,
        )
        return as_json(answer)

    @router.get(
        "/dead-letters/{seq}",
        response_model=DeadLetterPublic,
        responses={404: {"model": ErrorPublic, "description": "No such letter of yours."}},
        tags=["intake"],
    )
    def get_dead_letter(seq: Seq, dealerships: DealershipsToSearch) -> Response:
        """One refused event by its letter's sequence (`seq` in the list)."""
        found = queries.letter(store, seq, dealerships, INTAKE)
        if found is None:
            raise not_found(f"no dead letter {seq}")
        return as_json(found)

    return router
