"""The HTTP API's API keys: who is calling, and which dealerships they may read or write.

Two parts, each used as its library intends:
- `ApiKeyBackend`, for Starlette's `AuthenticationMiddleware` (laoke/http.py): every `/v1/...`
  request needs a live key, else 401, whichever router serves it and before its body is read.
  It only authenticates: what a key may do is decided by the routes.
- FastAPI dependencies the routes declare: the caller's `Access`, the dealerships it may read
  or write, and the dealership a request names, checked. Routes then query only those, so an
  id of another dealership is simply not found (404: nothing learnt about it), and naming a
  dealership the key may not read is 403.

An app without the middleware (LAOKE_AUTH=off, a service's own test app) lets everyone do
everything.
"""

from __future__ import annotations

import re
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection

from events.fields import DEALERSHIP_ID_PATTERN
from laoke.auth import OPEN, Access, ApiKey, KeyStore
from laoke.threads import in_thread

CACHE_S = 5.0  # a revoked key stops working within this long in other processes
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="laoke"'}


class KeyHolder(BaseUser):
    """The caller, as Starlette's `request.user`: what its key may do."""

    def __init__(self, access: Access) -> None:
        self.access = access

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        key = self.access.key
        return (key.label or key.id) if key else "anyone"


class ApiKeyBackend(AuthenticationBackend):
    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if not conn.scope.get("path", "").startswith("/v1/"):
            return None  # /healthz, /metrics, /docs and the dashboard page are open
        secret = presented_key(conn.headers)
        if not secret:
            raise AuthenticationError("an API key is required")
        key = await self._lookup(secret)
        if key is None:
            raise AuthenticationError("unknown or revoked API key")
        return AuthCredentials(), KeyHolder(Access(key))

    async def _lookup(self, secret: str) -> ApiKey | None:
        """The key, from the database at most every CACHE_S (it is asked on every request)."""
        now = time.monotonic()
        hit = self._cache.get(secret)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1]
        key = await in_thread(self.keys.authenticate, secret)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[secret] = (now, key)
        return key


def unauthorised(_: HTTPConnection, exc: AuthenticationError) -> JSONResponse:
    """`AuthenticationMiddleware`'s answer to a missing or refused key."""
    return JSONResponse({"message": str(exc)}, status_code=401, headers=CHALLENGE)


def presented_key(headers: Headers) -> str:
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return token.strip()
    return headers.get("x-api-key", "").strip()


async def caller_access(request: Request) -> Access:
    """What the caller's key may do, as the middleware found it."""
    if "user" not in request.scope:
        return OPEN  # no AuthenticationMiddleware: auth is off
    if isinstance(request.user, KeyHolder):
        return request.user.access
    raise HTTPException(401, "an API key is required", headers=CHALLENGE)


CallerAccess = Annotated[Access, Depends(caller_access)]


async def readable_dealerships(access: CallerAccess) -> frozenset[str] | None:
    return access.readable


async def writable_dealerships(access: CallerAccess) -> frozenset[str] | None:
    return access.writable


async def exportable_dealerships(access: CallerAccess) -> frozenset[str] | None:
    """Where a person's export may come from; a key without the privacy scope is refused
    whatever it names (403), so it learns nothing about which ids exist."""
    if access.key is not None and not access.key.privacy:
        raise HTTPException(403, "this key has no privacy scope (laoke keys create --privacy)")
    return access.exportable


# None = every dealership (auth off).
ReadableDealerships = Annotated[frozenset[str] | None, Depends(readable_dealerships)]
WritableDealerships = Annotated[frozenset[str] | None, Depends(writable_dealerships)]
ExportableDealerships = Annotated[frozenset[str] | None, Depends(exportable_dealerships)]


def may_not_read(dealership_id: str) -> HTTPException:
    return HTTPException(403, f"this key may not read {dealership_id!r}")


def missing_dealership() -> RequestValidationError:
    """The error FastAPI gives for a missing required parameter, in every app's own shape."""
    loc = ("query", "dealership_id")
    return RequestValidationError(
        [{"type": "missing", "loc": loc, "msg": "Field required", "input": None}]
    )


async def dealership_to_read(
    access: CallerAccess,
    dealership_id: Annotated[
        str | None,
        Query(
            pattern=DEALERSHIP_ID_PATTERN,
            description="Dealership id (required unless the API key is for one dealership).",
        ),
    ] = None,
) -> str:
    """The dealership a list or a count is of: the one named, which the key must read, or
    the only one it reads."""
    if dealership_id is None:
        dealership_id = access.own_dealership
        if dealership_id is None:
            raise missing_dealership()
    elif not access.can_read(dealership_id):
        raise may_not_read(dealership_id)
    return dealership_id


async def dealerships_to_read(
    access: CallerAccess,
    dealership_id: Annotated[
        list[str] | None,
        Query(
            description="Dealership id; repeat it to roll several up (each readable by the"
            " key). Required unless the API key is for one dealership.",
        ),
    ] = None,
) -> tuple[str, ...]:
    """The dealerships a figure is over: those named, each of which the key must read, or
    the only one it reads."""
    if not dealership_id:
        return (await dealership_to_read(access, None),)
    for name in dealership_id:
        if not re.fullmatch(DEALERSHIP_ID_PATTERN, name):
            raise bad_dealership(name)
        if not access.can_read(name):
            raise may_not_read(name)
    return tuple(sorted(set(dealership_id)))


def bad_dealership(name: str) -> RequestValidationError:
    loc = ("query", "dealership_id")
    message = f"String should match pattern '{DEALERSHIP_ID_PATTERN}'"
    return RequestValidationError(
        [{"type": "string_pattern_mismatch", "loc": loc, "msg": message, "input": name}]
    )


async def dealerships_to_search(
    access: CallerAccess,
    dealership_id: Annotated[
        str | None,
        Query(pattern=DEALERSHIP_ID_PATTERN, description="Dealership id (narrows the match)."),
    ] = None,
) -> frozenset[str] | None:
    """Where a lookup by id or phone searches: the dealership named, which the key must
    read, else every one it reads (None: all)."""
    if dealership_id is None:
        return access.readable
    if not access.can_read(dealership_id):
        raise may_not_read(dealership_id)
    return frozenset({dealership_id})


async def dealership_to_audit(
    access: CallerAccess,
    dealership_id: Annotated[
        str | None,
        Query(
            pattern=DEALERSHIP_ID_PATTERN,
            description="Dealership id (only ops keys may leave it out: every dealership).",
        ),
    ] = None,
) -> str | None:
    """The dealership whose recorded events to read; None = every one, for ops keys only."""
    if dealership_id is not None:
        if not access.can_audit(dealership_id):
            raise may_not_read(dealership_id)
        return dealership_id
    if access.ops:
        return None
    own = access.own_dealership
    if own is None:
        raise HTTPException(403, "name a dealership_id: only ops keys read every dealership")
    return own


DealershipToRead = Annotated[str, Depends(dealership_to_read)]
DealershipsToRead = Annotated[tuple[str, ...], Depends(dealerships_to_read)]
DealershipsToSearch = Annotated[frozenset[str] | None, Depends(dealerships_to_search)]
DealershipToAudit = Annotated[str | None, Depends(dealership_to_audit)]
