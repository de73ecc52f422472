"""A rig for projections' end-to-end tests: intake + projections in-process on a real
nats-server, the read API over ASGI, and helpers to publish and wait (never sleep)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from nats.js import JetStreamContext
from waiting import wait_for

from events import Event, inbound_subject, retention_subject, to_json
from events.factories import sample_inbound
from laoke.clock import ManualClock
from laoke.decisions import Cause, decision
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.intake.service import IntakeService
from services.projections.api import build_app
from services.projections.application import CONSUMER
from services.projections.service import ProjectionsService

DEALERSHIP = "demo-4s"


class Rig:
    def __init__(self, settings: LaokeSettings, clock: ManualClock, js: JetStreamContext) -> None:
        self.settings = settings
        self.clock = clock
        self.js = js
        self.intake = IntakeService(settings, clock)
        self.projections = ProjectionsService(settings, clock)
        self.app = build_app(self.projections)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test"
        )

    async def start(self) -> None:
        await self.intake.start()
        await self.projections.start()

    async def stop(self) -> None:
        await self.http.aclose()
        await self.projections.stop()
        await self.intake.stop()

    def at(self, hours: float) -> str:
        """A time `hours` from the clock's now, as an RFC 3339 string."""
        return (self.clock.now() + timedelta(hours=hours)).isoformat()

    async def send(self, event_type: str, /, **fields: Any) -> dict[str, Any]:
        """Publish an inbound event on dealer.in.<d>.<Type> and wait until it is projected."""
        fields.setdefault("event_id", str(uuid.uuid4()))
        event = sample_inbound(event_type, **fields)
        subject = inbound_subject(event["dealership_id"], event_type)
        await self.js.publish(subject, json.dumps(event).encode())
        await self.projected(event["event_id"])
        return event

    async def decide(
        self,
        model: type[Event],
        customer_id: str,
        /,
        at: datetime | None = None,
        dealership: str = DEALERSHIP,
        **payload: Any,
    ) -> Event:
        """Record a decision straight on RETENTION, as another service would."""
        cause = Cause(uuid.uuid4(), None, dealership, customer_id)
        made = decision(model, cause, source="tests", occurred_at=at or self.clock.now(), **payload)
        assert made.customer_id is not None
        subject = retention_subject(made.dealership_id, made.customer_id, made.event_type)
        await self.js.publish(subject, to_json(made), headers={"Nats-Msg-Id": str(made.event_id)})
        await self.projected(str(made.event_id))
        return made

    async def projected(self, event_id: str) -> None:
        store = self.projections.store
        await wait_for(
            lambda: bool(store.query("SELECT 1 FROM timeline WHERE event_id = ?", (event_id,)))
        )

    async def settled(self) -> None:
        """Wait until projections applied everything on RETENTION."""
        info = await self.js.stream_info(RETENTION)
        last = info.state.last_seq
        await wait_for(lambda: self.projections.store.position(CONSUMER) >= last)

    async def customer_id(self, event: dict[str, Any]) -> str:
        found = self.projections.store.query(
            "SELECT customer_id FROM timeline WHERE event_id = ?", (event["event_id"],)
        )
        return str(found[0][0])

    async def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        response = await self.http.get(path, params=params)
        assert response.status_code == expect, response.text
        return response.json()
