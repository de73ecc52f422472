"""The dashboard page: static files (HTML, ES modules, CSS, a vendored Chart.js) served at `/`.

No build step: the files in `dashboard/` are served as they are. The page reads the same
read API (`/v1/...`) with the caller's API key; this router serves only files, so it needs
no service and no key (the page holds no data until the API answers it).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).with_name("dashboard")
STATIC_PREFIX = "/dashboard/static"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # ES modules need a JavaScript type
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Everything the page loads comes from here; the API is same-origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_file(relative: str) -> Path:
    """The file under `STATIC_DIR` named by `relative`, or 404 (never a path outside it)."""
    root = STATIC_DIR.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        raise HTTPException(404, detail=f"no file {relative!r}")
    if candidate.suffix not in MEDIA_TYPES:
        raise HTTPException(404, detail=f"no file {relative!r}")
    return candidate


def _respond(path: Path, cache: str) -> FileResponse:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache}
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)


def build_dashboard_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def index() -> FileResponse:
        # no-cache: revalidated each time, so a new release shows at once
        return _respond(static_file("index.html"), "no-cache")

    @router.get(STATIC_PREFIX + "/{relative:path}")
    def static(relative: str) -> FileResponse:
        return _respond(static_file(relative), "no-cache")

    return router
