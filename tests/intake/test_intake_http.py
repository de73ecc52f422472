"""POST /v1/events: one object or an array, through the same path, answered per event."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from intake_support import inbound, read_stream, wait_count
from nats.js import JetStreamContext

from laoke.clock import SystemClock
from laoke.http import build_http_app
from laoke.registry import entry
from laoke.settings import LaokeSettings
from services.intake.service import IntakeService


@pytest.fixture
async def client(settings: LaokeSettings, js: JetStreamContext) -> AsyncIterator[httpx.AsyncClient]:
    service = IntakeService(settings, SystemClock())
    await service.start()
    app = build_http_app([(entry("intake"), service)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://laoke") as http:
        yield http
    await service.stop()


async def test_an_array_is_answered_per_event(
    client: httpx.AsyncClient, js: JetStreamContext
) -> None:
    good = inbound("CustomerVisited")
    bad = inbound("CustomerVisited", visit_kind="karaoke")
    response = await client.post("/v1/events", json=[good, good, bad])
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate", "rejected"]
    assert body["results"][2]["reason"] == "bad_enum"
    assert "visit_kind" in body["results"][2]["message"]
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (1, 1, 1)
    # Answered only once recorded: the streams already hold them.
    assert [m.json()["event_id"] for m in await read_stream(js, "RETENTION")] == [good["event_id"]]
    (letter,) = await read_stream(js, "RETENTION_DLQ")
    assert letter.subject == "dlq.intake.bad_enum"


async def test_a_single_rejected_event_is_a_422_with_a_message(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/events", json=inbound("CustomerVisited", customer={}))
    assert response.status_code == 422
    assert response.json()["results"][0]["reason"] == "no_identity"
    assert response.json()["message"]


async def test_a_single_event_is_accepted_then_a_duplicate(
    client: httpx.AsyncClient, js: JetStreamContext
) -> None:
    event = inbound("VehiclePurchased")
    first = await client.post("/v1/events", json=event)
    again = await client.post("/v1/events", json=event)
    assert first.json()["results"][0]["status"] == "accepted"
    assert first.json()["results"][0]["customer_id"]
    assert again.json()["results"][0]["status"] == "duplicate"
    await wait_count(js, "RETENTION", 1)


async def test_a_body_that_is_not_json_is_a_json_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/events", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "message" in response.json()
