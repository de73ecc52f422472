"""A rig for the dead-letter tests: intake and projections in-process on a real nats-server,
the HTTP app with API keys, `laoke dlq` as ops run it, and the streams read back."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import httpx
from nats.js import JetStreamContext
from waiting import wait_for

from events.factories import sample_inbound
from laoke.auth import KeyStore
from laoke.clock import SystemClock
from laoke.dlqcli import dlq_command
from laoke.http import build_http_app
from laoke.registry import entry
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.intake.service import IntakeService
from services.intake.settings import IntakeSettings
from services.projections.service import ProjectionsService

A, B = "dealer-a", "dealer-b"
MAX_ARRAY = 3


def event(dealership: str = A, **fields: Any) -> dict[str, Any]:
    """A valid CustomerVisited with a fresh id (`fields` override it)."""
    fields.setdefault("event_id", str(uuid.uuid4()))
    return sample_inbound("CustomerVisited", dealership_id=dealership, **fields)


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


class Rig:
    def __init__(self, settings: LaokeSettings, js: JetStreamContext) -> None:
        self.settings = settings.model_copy(update={"auth": "on"})
        self.js = js
        clock = SystemClock()
        self.intake = IntakeService(self.settings, clock, IntakeSettings(max_array=MAX_ARRAY))
        self.projections = ProjectionsService(self.settings, clock)
        self.keys = KeyStore(self.settings)
        app = build_http_app(
            [(entry("projections"), self.projections), (entry("intake"), self.intake)], self.keys
        )
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        self.a = self.keys.create([A], write=True)[1]
        self.b = self.keys.create([B], write=True)[1]

    async def start(self) -> None:
        await self.projections.start()
        await self.intake.start()

    async def stop(self) -> None:
        await self.http.aclose()
        await self.intake.stop()
        await self.projections.stop()

    async def get(self, path: str, key: str | None = None, **params: Any) -> httpx.Response:
        headers = {"X-API-Key": key or self.a}
        return await self.http.get(path, params=params, headers=headers)

    async def post(self, body: Any, key: str | None = None) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"X-API-Key": key or self.a, "content-type": "application/json"}
        return await self.http.post("/v1/events", content=content, headers=headers)

    async def publish(self, body: dict[str, Any] | bytes, **headers: str) -> None:
        data = body if isinstance(body, bytes) else raw(body)
        await self.js.publish(f"dealer.in.{A}.CustomerVisited", data, headers=headers or None)

    async def letters(self, count: int, key: str | None = None, **params: Any) -> list[Any]:
        """The dealership's list once it holds `count` letters."""

        async def listed() -> list[Any] | None:
            answer = await self.get("/v1/dead-letters", key, **params)
            assert answer.status_code == 200, answer.text
            items: list[Any] = answer.json()["items"]
            return items if len(items) >= count else None

        found: list[Any] = await wait_for(listed, what=f"{count} dead letters")
        return found

    async def letter(self, seq: int, until: Any = lambda _: True) -> dict[str, Any]:
        """Letter `seq` as the API answers it, once `until(letter)` holds."""

        async def shown() -> dict[str, Any] | None:
            answer = await self.get(f"/v1/dead-letters/{seq}")
            found: dict[str, Any] = answer.json()
            return found if answer.status_code == 200 and until(found) else None

        found: dict[str, Any] = await wait_for(shown, what=f"dead letter {seq}")
        return found

    async def dlq(self, *argv: str) -> int:
        """`laoke dlq ...` (it runs its own event loop: in a thread here)."""
        return await asyncio.to_thread(dlq_command, self.settings, list(argv))

    async def intake_reached(self, position: int) -> None:
        app = self.intake.app
        await wait_for(lambda: app.tracked_position("intake") >= position, what="intake")

    async def recorded(self, event_id: str) -> int:
        """How many times RETENTION holds this event, once it holds it (intake's relay
        publishes what it recorded after the DEALER_IN position moved)."""

        async def count() -> int:
            info = await self.js.stream_info(RETENTION)
            found = 0
            for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
                stored = await self.js.get_msg(RETENTION, seq)
                found += json.loads(stored.data or b"{}").get("event_id") == event_id
            return found

        found: int = await wait_for(count, what=f"{event_id} on RETENTION")
        return found


def redriven_as(output: str) -> list[int]:
    """The DEALER_IN sequences `laoke dlq redrive` printed."""
    return [int(n) for n in re.findall(r"re-driven as DEALER_IN:(\d+)", output)]
