"""The HTTP API's API-key check, in one place for every router (ASGI middleware).

For every `/v1/...` request:
- no key, or a key unknown or revoked: 401;
- `request.state.access` (a `laoke.auth.Access`) tells routers what the caller may do;
- `dealership_id` in the query must be readable (GET) by the key: else 403; a key for one
  dealership that names none gets its own filled in (so "by id" lookups search only there);
- `GET /v1/audit` without a dealership: ops keys only;
- JSON answers naming a `dealership_id` the key may not read become 404, lists of customers
  are filtered, and a customer's timeline is checked against the customer's dealership;
- `POST /v1/events`: every event needs write rights on its `dealership_id`; events for other
  dealerships are rejected one by one with reason `forbidden_dealership`, the rest go on.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from laoke.auth import Access, ApiKey, KeyStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TIMELINE = re.compile(r"^/v1/customers/(?P<id>[^/]+)/timeline$")
CACHE_S = 5.0  # a revoked key stops working within this long in other processes


class Captured:
    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def header(self, name: bytes) -> str:
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return ""


async def respond(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode()
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *kept,
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def replay(captured: Captured, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": captured.status, "headers": captured.headers}
    )
    await send({"type": "http.response.body", "body": captured.body})


def body_receiver(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, keys: KeyStore) -> None:
        self.app = app
        self.keys = keys
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def _lookup(self, secret: str) -> ApiKey | None:
        now = time.monotonic()
        hit = self._cache.get(secret)
        if hit is not None and now - hit[0] < CACHE_S:
            return hit[1]
        key = await asyncio.to_thread(self.keys.authenticate, secret)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[secret] = (now, key)
        return key

    def forget(self) -> None:
        self._cache.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        secret = presented_key(scope)
        key = await self._lookup(secret) if secret else None
        if key is None:
            message = "an API key is required" if not secret else "unknown or revoked API key"
            await respond(
                send,
                401,
                {"message": message},
                [(b"www-authenticate", b'Bearer realm="laoke"')],
            )
            return
        access = Access(key)
        scope.setdefault("state", {})["access"] = access
        if scope["method"] == "POST" and path == "/v1/events":
            await self._events(scope, receive, send, access)
        elif scope["method"] in ("GET", "HEAD"):
            await self._read(scope, receive, send, access)
        else:
            await respond(send, 403, {"message": "this key may not do that"}, [])

    async def _read(self, scope: Scope, receive: Receive, send: Send, access: Access) -> None:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        named = [v for k, v in query if k == "dealership_id"]
        audit = scope["path"] == "/v1/audit"
        for dealership in named:
            allowed = access.can_audit(dealership) if audit else access.can_read(dealership)
            if not allowed:
                await respond(send, 403, {"message": f"this key may not read {dealership!r}"}, [])
                return
        readable = access.readable
        if not named and not (audit and access.ops):
            if readable is not None and len(readable) == 1:
                query.append(("dealership_id", readable[0]))  # search only the key's own
                scope["query_string"] = urlencode(query).encode()
            elif audit:
                await respond(send, 403, {"message": "name a dealership_id (ops keys may not)"}, [])
                return
        match = TIMELINE.match(scope["path"])
        if match and not await self._customer_readable(match["id"], access):
            await respond(send, 404, {"message": f"no customer {match['id']!r}"}, [])
            return
        captured = Captured()
        await self.app(scope, receive, captured.send)
        if captured.status == 200 and captured.header(b"content-type").startswith(
            "application/json"
        ):
            await self._filtered(captured, send, access)
        else:
            await replay(captured, send)

    async def _customer_readable(self, customer_id: str, access: Access) -> bool:
        """Ask the app itself whose customer this is (GET /v1/customers/{id})."""
        captured = Captured()
        sub_scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": f"/v1/customers/{customer_id}",
            "raw_path": f"/v1/customers/{customer_id}".encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
            "state": {"access": Access(None)},
        }
        await self.app(sub_scope, body_receiver(b""), captured.send)
        if captured.status != 200:
            return False
        try:
            dealership = json.loads(captured.body).get("dealership_id")
        except (ValueError, AttributeError):
            return False
        return isinstance(dealership, str) and access.can_read(dealership)

    async def _filtered(self, captured: Captured, send: Send, access: Access) -> None:
        try:
            body = json.loads(captured.body)
        except ValueError:
            await replay(captured, send)
            return
        if isinstance(body, dict):
            dealership = body.get("dealership_id")
            if isinstance(dealership, str) and not access.can_read(dealership):
                await respond(send, 404, {"message": "not found"}, captured.headers)
                return
            customers = body.get("customers")
            if isinstance(customers, list):
                kept = [
                    c
                    for c in customers
                    if isinstance(c, dict) and access.can_read(str(c.get("dealership_id")))
                ]
                if not kept:
                    await respond(send, 404, {"message": "no customer found"}, captured.headers)
                    return
                if len(kept) != len(customers):
                    await respond(send, 200, body | {"customers": kept}, captured.headers)
                    return
        await replay(captured, send)

    async def _events(self, scope: Scope, receive: Receive, send: Send, access: Access) -> None:
        raw = await read_body(receive)
        try:
            payload = json.loads(raw)
        except ValueError:  # intake answers bad JSON with its own reasons
            await self.app(scope, body_receiver(raw), send)
            return
        items = payload if isinstance(payload, list) else [payload]
        forbidden = {
            i
            for i, item in enumerate(items)
            if isinstance(item, dict)
            and isinstance(item.get("dealership_id"), str)
            and not access.can_write(item["dealership_id"])
        }
        if not forbidden:
            await self.app(scope, body_receiver(raw), send)
            return
        allowed = [i for i in range(len(items)) if i not in forbidden]
        results: dict[int, dict[str, Any]] = {
            i: {
                "index": i,
                "status": "rejected",
                "event_id": items[i].get("event_id")
                if isinstance(items[i].get("event_id"), str)
                else None,
                "customer_id": None,
                "reason": "forbidden_dealership",
                "message": f"this key may not write for {items[i]['dealership_id']!r}",
            }
            for i in forbidden
        }
        headers: list[tuple[bytes, bytes]] = []
        if allowed:
            inner = json.dumps([items[i] for i in allowed], ensure_ascii=False).encode()
            captured = Captured()
            await self.app(scope, body_receiver(inner), captured.send)
            try:
                answered = json.loads(captured.body)["results"]
            except (ValueError, KeyError, TypeError):
                await replay(captured, send)  # e.g. 413: the whole request was refused
                return
            for result in answered:
                original = allowed[result["index"]]
                results[original] = result | {"index": original}
            headers = captured.headers
        ordered = [results[i] for i in range(len(items))]
        counts = {
            status: sum(r["status"] == status for r in ordered)
            for status in ("accepted", "duplicate", "rejected")
        }
        body: dict[str, Any] = counts | {"results": ordered}
        if counts["rejected"] == len(ordered):
            first = ordered[0]
            status = 403 if len(forbidden) == len(ordered) else 422
            await respond(send, status, {"message": first["message"]} | body, headers)
            return
        await respond(send, 200, body, headers)


def presented_key(scope: Scope) -> str:
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    for name, value in scope.get("headers", []):
        lowered = name.lower()
        if lowered == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
        elif lowered == b"x-api-key":
            return str(value.decode("latin-1").strip())
    return ""
