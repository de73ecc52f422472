"""schemathesis over the combined HTTP app (`laoke.http.build_http_app` with intake and
projections, as `laoke run` serves it): no generated path or query parameter of a GET
operation makes it answer a server error.

Projections' own test (tests/projections/test_projections_openapi.py) covers its app with
its own error handlers; this one covers the app laoke actually serves, whose handlers come
from `laoke.http`. POST /v1/events is left to test_fuzz_intake.py (it needs intake running
on this test's event loop; schemathesis calls the ASGI app from its own).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import nats
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from events import retention_subject
from events.factories import sample_inbound, sample_recorded
from laoke.clock import ManualClock
from laoke.dlq import dead_letter
from laoke.http import build_http_app
from laoke.natsserver import NatsServer
from laoke.partitions import WHOLE
from laoke.registry import entry
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams
from services.intake.service import IntakeService
from services.projections.application import Message
from services.projections.deadletters.store import Letter, apply_letters
from services.projections.service import ProjectionsService

READ_PATHS = {
    "/v1/customers/{customer_id}",
    "/v1/customers",
    "/v1/customers/{customer_id}/timeline",
    "/v1/complaints/{complaint_id}",
    "/v1/complaints",
    "/v1/followups",
    "/v1/referrals/{referral_id}",
    "/v1/referrals",
    "/v1/metrics/satisfaction",
    "/v1/audit",
    "/v1/dead-letters",
    "/v1/dead-letters/{seq}",
}


def history() -> list[bytes]:
    events = []
    for event_type in (
        "CustomerRegistered",
        "VehiclePurchased",
        "ComplaintFiled",
        "SurveyAnswered",
    ):
        cause = str(uuid.uuid4())
        data = sample_inbound(event_type) | {
            "customer_id": "c-demo-0001",
            "correlation_id": cause,
            "causation_id": cause,
        }
        events.append(data)
    events.append(sample_recorded("FollowUpDue"))
    return [json.dumps(e).encode() for e in events]


def refused() -> Letter:
    """A dead letter of the sample dealership, for the dead-letter list to hold one."""
    data = sample_inbound("CustomerVisited", visit_kind="karaoke")
    out = dead_letter(
        "intake",
        "bad_enum",
        "visit_kind",
        json.dumps(data).encode(),
        None,
        origin="DEALER_IN:1",
        dealership=data["dealership_id"],
    )
    return Letter(1, out.subject, dict(out.headers), out.body, datetime.now(UTC))


async def record(url: str, bodies: list[bytes]) -> None:
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
def combined_schema(
    settings: LaokeSettings, nats_server: NatsServer
) -> Iterator[schemathesis.BaseSchema]:
    bodies = history()
    asyncio.run(nats_server.wait_ready())
    asyncio.run(record(nats_server.url, bodies))  # /v1/audit reads RETENTION itself
    clock = ManualClock(datetime(2026, 1, 20, 10, tzinfo=UTC))
    projections = ProjectionsService(settings, clock)
    projections.projections.apply_batch([Message(i, b) for i, b in enumerate(bodies, start=1)])
    apply_letters(projections.dead_letters, [refused()], WHOLE, 1)
    intake = IntakeService(settings, clock)  # not started: its POST is not exercised here
    app = build_http_app([(entry("projections"), projections), (entry("intake"), intake)])
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    projections.close()
    intake.app.close()


def test_no_read_api_parameter_makes_the_combined_app_answer_a_server_error(
    combined_schema: schemathesis.BaseSchema,
) -> None:
    operations = [
        r.ok()
        for r in combined_schema.get_all_operations()
        if isinstance(r, Ok) and r.ok().method.upper() == "GET"
    ]
    assert READ_PATHS <= {op.path for op in operations}, "every read endpoint is exercised"
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        check()
