"""schemathesis against the generated OpenAPI: no input makes the read API fail with a 5xx."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from events import retention_subject
from events.factories import sample_inbound, sample_recorded
from laoke.clock import ManualClock
from laoke.natsserver import NatsServer
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams
from services.projections.api import build_app
from services.projections.application import Message
from services.projections.service import ProjectionsService

CUSTOMER = "c-demo-0001"


def recorded_history() -> list[bytes]:
    events = []
    for event_type in (
        "CustomerRegistered",
        "VehiclePurchased",
        "ComplaintFiled",
        "SurveyAnswered",
        "ReferralClaimed",
        "ServiceCompleted",
    ):
        data = sample_inbound(event_type)
        cause = str(uuid.uuid4())
        data |= {"customer_id": CUSTOMER, "correlation_id": cause, "causation_id": cause}
        events.append(data)
    events.append(sample_recorded("FollowUpDue"))
    return [json.dumps(e).encode() for e in events]


async def publish(url: str, bodies: list[bytes]) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js)
    for body in bodies:
        event = json.loads(body)
        subject = retention_subject(
            event["dealership_id"], event["customer_id"], event["event_type"]
        )
        await js.publish(subject, body)
    await nc.close()


@pytest.fixture
def api_schema(tmp_path: Path, nats_server: NatsServer) -> Iterator[schemathesis.BaseSchema]:
    bodies = recorded_history()
    asyncio.run(nats_server.wait_ready())
    asyncio.run(publish(nats_server.url, bodies))
    laoke = LaokeSettings(data_dir=tmp_path / "data", nats_url=nats_server.url)
    service = ProjectionsService(laoke, ManualClock(datetime(2026, 1, 20, 10, tzinfo=UTC)))
    service.projections.apply_batch([Message(i, b) for i, b in enumerate(bodies, start=1)])
    yield schemathesis.openapi.from_asgi("/openapi.json", build_app(service))
    service.store.close()


def test_the_read_api_never_answers_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
    # Every operation of the generated OpenAPI, a bounded number of generated requests each.
    # (schemathesis.pytest.from_fixture does not work with this pytest; hypothesis drives it.)
    operations = [r.ok() for r in api_schema.get_all_operations() if isinstance(r, Ok)]
    assert len(operations) == 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        check()
