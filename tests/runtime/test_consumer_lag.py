"""`laoke_consumer_lag` on /metrics: what is on the stream after what a consumer handled."""

from __future__ import annotations

import json
import uuid

from nats.js import JetStreamContext
from prometheus_client import REGISTRY

from events import retention_subject
from events.factories import sample_recorded
from laoke.clock import SystemClock
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.projections.service import ProjectionsService


def lag(consumer: str) -> float | None:
    return REGISTRY.get_sample_value("laoke_consumer_lag", {"consumer": consumer})


async def test_the_lag_is_what_remains_on_the_stream_after_each_batch(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    service = ProjectionsService(settings, SystemClock())
    runner = service.workers[0].consumer
    try:
        for n in range(5):
            event = sample_recorded("FollowUpDue", event_id=str(uuid.UUID(int=n + 1)))
            subject = retention_subject(event["dealership_id"], event["customer_id"], "FollowUpDue")
            await js.publish(subject, json.dumps(event).encode())
        # The durable consumer (from the store's position) made once the five are stored.
        # Made before them, it counted them as they came: once, on a busy machine, the
        # first batch read 2 left where 3 were (the server's count lagging, we think).
        await runner.durable.start_at(js, 0)
        pull = await js.pull_subscribe_bind("projections", stream=RETENTION)
        assert await runner.handle(js, await pull.fetch(2, timeout=5))
        assert lag("projections") == 3
        assert await runner.handle(js, await pull.fetch(3, timeout=5))
        assert lag("projections") == 0
    finally:
        service.store.close()
