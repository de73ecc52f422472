"""One FastAPI app for the services running in this process: their routers, /metrics, /healthz.

Every error answers JSON with a `message` (and, for bad parameters, the fields named).
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from laoke import tracing
from laoke.auth import KeyStore
from laoke.httpauth import ApiKeyBackend, unauthorised
from laoke.metrics import HTTP_SECONDS
from laoke.registry import Service, ServiceEntry


def install_json_errors(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail: Any = exc.detail
        if isinstance(detail, dict) and isinstance(detail.get("message"), str):
            body: dict[str, Any] = detail  # already our shape: {"message": ..., ...}
        elif isinstance(detail, str):
            body = {"message": detail}
        else:
            body = {"message": "error", "detail": detail}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"]}
            for error in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"message": summary, "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def server_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"message": f"internal error: {type(exc).__name__}"}, status_code=500)


class RequestTimer:
    """`laoke_http_request_seconds` by method, route template and status: until the last
    byte of the answer (an NDJSON audit stream included), the key check included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # The template (`/v1/customers/{customer_id}`), never the path: bounded labels.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            elapsed = time.perf_counter() - start
            HTTP_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)


def _load_dashboard() -> APIRouter:
    """The dashboard page at `/` (static files shipped with the projections service)."""
    router: APIRouter = importlib.import_module(
        "services.projections.dashboard"
    ).build_dashboard_router()
    return router


def build_http_app(
    running: Sequence[tuple[ServiceEntry, Service]], keys: KeyStore | None = None
) -> FastAPI:
    """`keys` None = no API keys asked (LAOKE_AUTH=off); else every /v1 call needs one."""
    app = FastAPI(
        title="laoke",
        version="1.0",
        description="老客: customer retention for car dealerships. Read API and event intake.",
    )
    install_json_errors(app)
    if keys is not None:  # authenticates every /v1 call; the routes authorise (laoke/httpauth.py)
        app.add_middleware(
            AuthenticationMiddleware, backend=ApiKeyBackend(keys), on_error=unauthorised
        )
    app.add_middleware(RequestTimer)  # added last: outermost, so it times the key check too
    tracing.instrument(app)  # a span per request, when tracing is on
    for entry, service in running:
        router = entry.router(service)
        if router is not None:
            app.include_router(router)
    if any(entry.name == "projections" for entry, _ in running):  # the page reads its API
        with contextlib.suppress(ImportError):
            app.include_router(_load_dashboard())

    @app.get("/healthz", tags=["ops"], summary="Liveness: the services in this process")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "services": [entry.name for entry, _ in running]}

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
