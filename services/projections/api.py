"""The read API (CONTRACT.md §3): `build_router(service)`; `build_app(service)` adds the JSON
error handlers (every error is `{"message": …}`; 404 for unknown ids; 422 naming the field).

Handlers are plain `def`s: FastAPI runs them in its thread pool, each thread with its own
read connection (SQLite WAL readers never wait for the consumer's writes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import nats
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from events import normalise_phone
from events.fields import CUSTOMER_ID_PATTERN, DEALERSHIP_ID_PATTERN
from laoke.service import nats_options
from services.projections import queries
from services.projections.audit import audit_lines
from services.projections.metrics import group_facts, load_facts
from services.projections.models import (
    ComplaintListPublic,
    ComplaintPublic,
    CustomerListPublic,
    CustomerPublic,
    ErrorPublic,
    FollowUpListPublic,
    FollowUpStatus,
    ReferralPublic,
    SatisfactionPublic,
    TimelinePublic,
)
from services.projections.service import ProjectionsService

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorPublic, "description": "Unknown id."},
    422: {"model": ErrorPublic, "description": "A bad parameter (named in `field`)."},
}
DEFAULT_PERIOD = timedelta(days=30)
VIN_QUERY_PATTERN = r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$"

PageLimit = Annotated[int, Query(ge=1, le=5000, description="Page size.")]
PeriodFrom = Annotated[
    AwareDatetime | None, Query(alias="from", description="Period start (inclusive).")
]
PeriodTo = Annotated[AwareDatetime | None, Query(alias="to", description="Period end (exclusive).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Entries to skip.")]
Dealership = Annotated[str, Query(pattern=DEALERSHIP_ID_PATTERN, description="Dealership id.")]
OptionalDealership = Annotated[
    str | None,
    Query(pattern=DEALERSHIP_ID_PATTERN, description="Dealership id (narrows the match)."),
]


def as_json(answer: BaseModel) -> Response:
    """The answer serialised once by pydantic. Returned as a model, FastAPI would validate
    it again against `response_model` before serialising it: half the time of a 500-item
    work list. `response_model` still documents the answer in the OpenAPI."""
    return Response(answer.model_dump_json(), media_type="application/json")


def bad_param(field: str, message: str) -> HTTPException:
    return HTTPException(422, detail={"message": f"{field}: {message}", "field": field})


def not_found(message: str) -> HTTPException:
    return HTTPException(404, detail={"message": message})


def _period(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    end = end or now
    start = start or end - DEFAULT_PERIOD
    if start >= end:
        raise bad_param("from", "must be before `to`")
    return start, end


def _dealership_of(
    service: ProjectionsService, table: str, column: str, ident: str, dealership: str | None
) -> str:
    found = queries.find_by_id(service.store, table, column, ident, dealership)
    if not found:
        raise not_found(f"no {column.removesuffix('_id')} {ident!r}")
    if len(found) > 1:
        dealerships = ", ".join(r[0] for r in found)
        raise bad_param(
            "dealership_id", f"{ident!r} exists at several dealerships ({dealerships}): name one"
        )
    return str(found[0][0])


def build_router(service: ProjectionsService) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=ERRORS)
    settings = service.projection_settings

    @router.get("/customers/{customer_id}", response_model=CustomerPublic, tags=["customers"])
    def get_customer(customer_id: str) -> Response:
        """Profile, class (explained), advisor, last touchpoint. A merged id answers with the
        survivor's profile; `merged_into` then names the survivor."""
        found = queries.customer(service.store, customer_id, service.clock.now(), settings)
        if found is None:
            raise not_found(f"no customer {customer_id!r}")
        return as_json(found)

    @router.get("/customers", response_model=CustomerListPublic, tags=["customers"])
    def lookup_customers(
        phone: Annotated[
            str | None, Query(max_length=64, description="Any format of the number.")
        ] = None,
        vin: Annotated[str | None, Query(pattern=VIN_QUERY_PATTERN, description="A VIN.")] = None,
        dealership_id: OptionalDealership = None,
    ) -> Response:
        """The customers holding a phone number or a VIN (one per dealership at most)."""
        if (phone is None) == (vin is None):
            raise bad_param("phone", "give exactly one of phone or vin")
        if phone is not None:
            try:
                kind, value = "phone", normalise_phone(phone)
            except ValueError:
                raise bad_param("phone", f"{phone[:64]!r} is not a valid phone number") from None
        else:
            assert vin is not None
            kind, value = "vin", vin.upper()
        now = service.clock.now()
        customers: list[CustomerPublic] = []
        for customer_id in queries.lookup(service.store, kind, value, dealership_id):
            found = queries.customer(service.store, customer_id, now, settings)
            if found is not None and found.customer_id not in {c.customer_id for c in customers}:
                customers.append(found)
        if not customers:
            raise not_found(f"no customer with {kind} {value}")
        return as_json(CustomerListPublic(customers=customers))

    @router.get(
        "/customers/{customer_id}/timeline", response_model=TimelinePublic, tags=["customers"]
    )
    def get_timeline(
        customer_id: str,
        offset: Offset = 0,
        limit: PageLimit = 1000,
    ) -> Response:
        """Every event about the customer (merged ids included), oldest first."""
        found = queries.timeline(service.store, customer_id, offset, min(limit, settings.max_page))
        if found is None:
            raise not_found(f"no customer {customer_id!r}")
        return as_json(found)

    @router.get("/complaints", response_model=ComplaintListPublic, tags=["complaints"])
    def list_complaints(
        dealership_id: Dealership,
        start: PeriodFrom = None,
        end: PeriodTo = None,
        offset: Offset = 0,
        limit: PageLimit = 500,
    ) -> Response:
        """The complaints filed in the period (default: last 30 days), oldest first, each as
        `GET /v1/complaints/{id}` answers it: for funnels and SLA boards."""
        now = service.clock.now()
        period_from, period_to = _period(start, end, now)
        found = queries.complaints_filed(
            service.store,
            dealership_id,
            period_from,
            period_to,
            now,
            settings,
            offset,
            min(limit, settings.max_page),
        )
        return as_json(found)

    @router.get("/complaints/{complaint_id}", response_model=ComplaintPublic, tags=["complaints"])
    def get_complaint(complaint_id: str, dealership_id: OptionalDealership = None) -> Response:
        """Current step (1–6), time of each step, remedy, SLA state (by the service clock)."""
        dealership = _dealership_of(
            service, "complaints", "complaint_id", complaint_id, dealership_id
        )
        found = queries.complaint(
            service.store, dealership, complaint_id, service.clock.now(), settings
        )
        if found is None:
            raise not_found(f"no complaint {complaint_id!r}")
        return as_json(found)

    @router.get("/followups", response_model=FollowUpListPublic, tags=["outreach"])
    def get_followups(
        dealership_id: Dealership,
        status: FollowUpStatus = "due",
        limit: PageLimit = 500,
    ) -> Response:
        """The outreach work list by due time: `due` (not yet past due), `overdue`, `done`,
        `skipped`; each with its reason and the contact rules that applied."""
        page = queries.followup_list_json(
            service.store, dealership_id, status, service.clock.now(), min(limit, settings.max_page)
        )
        return Response(page, media_type="application/json")  # no models: see followup_list_json

    @router.get("/referrals/{referral_id}", response_model=ReferralPublic, tags=["referrals"])
    def get_referral(referral_id: str, dealership_id: OptionalDealership = None) -> Response:
        """Claim, checks, verdict, reward."""
        dealership = _dealership_of(service, "referrals", "referral_id", referral_id, dealership_id)
        found = queries.referral(service.store, dealership, referral_id)
        if found is None:
            raise not_found(f"no referral {referral_id!r}")
        return as_json(found)

    @router.get("/metrics/satisfaction", response_model=SatisfactionPublic, tags=["metrics"])
    def get_satisfaction(
        dealership_id: Dealership,
        start: PeriodFrom = None,
        end: PeriodTo = None,
        group_by: Literal["advisor", "department", "none"] = "none",
    ) -> Response:
        """CSI, SSI, NPS, complaints by category, time to apology and to resolution
        (p50/p90), share resolved within SLA, follow-up completion, referral conversion,
        repurchase by complaint outcome, silent-dissatisfaction estimate (default: last 30
        days)."""
        now = service.clock.now()
        period_from, period_to = _period(start, end, now)
        facts = load_facts(service.store, dealership_id, period_from, period_to, now)
        return as_json(
            SatisfactionPublic(
                dealership_id=dealership_id,
                period_from=period_from,
                period_to=period_to,
                group_by=group_by,
                as_of=now,
                groups=group_facts(facts, group_by, settings.silent_per_complaint),
            )
        )

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
        dealership_id: OptionalDealership = None,
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
                async for chunk in audit_lines(
                    nc.jetstream(), dealership_id, customer_id, start, end
                ):
                    yield chunk
            finally:
                await nc.close()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return router


def audit_connection(service: ProjectionsService) -> dict[str, Any]:
    """A connection of the request's own (its event loop), failing fast if NATS is down."""
    options = nats_options(service.settings)
    return options | {"max_reconnect_attempts": 0, "connect_timeout": 2, "allow_reconnect": False}


def install_error_handlers(app: FastAPI) -> None:
    """Every error as JSON with a `message` (and `field` for a bad parameter)."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail: Any = exc.detail
        body = detail if isinstance(detail, dict) else {"message": str(detail)}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ())]
        field = loc[-1] if loc else None
        message = f"{field}: {first.get('msg', 'invalid')}" if field else "invalid request"
        return JSONResponse({"message": message, "field": field, "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"message": f"internal error: {type(exc).__name__}"}, status_code=500)


def build_app(service: ProjectionsService) -> FastAPI:
    app = FastAPI(title="laoke read API", version="1")
    app.include_router(build_router(service))
    install_error_handlers(app)
    return app
