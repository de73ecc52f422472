"""The read API (docs/contract.md §4): `build_router(service)`, one router per resource
(services/projections/routes/); `build_app(service)` adds the JSON error handlers (every
error is `{"message": …}`; 404 for unknown ids; 422 naming the field).

What a caller may read is decided by laoke/httpauth.py's dependencies, which the routes
declare: they query only the dealerships the caller may read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.projections.routes.audit import audit_router
from services.projections.routes.complaints import complaints_router
from services.projections.routes.customers import customers_router
from services.projections.routes.deadletters import dead_letters_router
from services.projections.routes.export import export_router
from services.projections.routes.followups import followups_router
from services.projections.routes.identity import identity_router
from services.projections.routes.metrics import metrics_router
from services.projections.routes.referrals import referrals_router
from services.projections.service import ProjectionsService

RESOURCES = (
    customers_router,
    export_router,
    complaints_router,
    followups_router,
    referrals_router,
    metrics_router,
    audit_router,
    dead_letters_router,
    identity_router,
)


def build_router(service: ProjectionsService) -> APIRouter:
    router = APIRouter()
    for resource in RESOURCES:
        router.include_router(resource(service))
    return router


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
