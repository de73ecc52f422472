"""Intake keeps DEALER_IN's order on RETENTION while batches are pipelined (the relay
publishes one batch while the next is recorded), and a batch that fails to record is
redelivered before anything newer is recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from eventsourcing.persistence import Tracking
from intake_support import inbound, publish, read_stream, wait_count
from nats.js import JetStreamContext

from laoke.clock import SystemClock
from laoke.settings import LaokeSettings
from services.intake.application import Inbound, Verdict
from services.intake.service import IntakeService
from services.intake.settings import IntakeSettings


@pytest.fixture
async def small_batches(
    settings: LaokeSettings, js: JetStreamContext
) -> AsyncIterator[IntakeService]:
    service = IntakeService(settings, SystemClock(), IntakeSettings(batch_size=5))
    await service.start()
    yield service
    await service.stop()


async def test_a_burst_over_many_batches_is_recorded_in_the_order_it_arrived(
    small_batches: IntakeService, js: JetStreamContext
) -> None:
    events = [
        inbound("CustomerVisited", customer={"phone": f"1380013{i % 7:04d}"}) for i in range(60)
    ]
    for event in events:
        await publish(js, event)
    await wait_count(js, "RETENTION", 60)
    recorded = [m.json()["event_id"] for m in await read_stream(js, "RETENTION")]
    assert recorded == [e["event_id"] for e in events]


async def test_a_batch_that_fails_to_record_is_not_overtaken_by_later_ones(
    small_batches: IntakeService, js: JetStreamContext
) -> None:
    shard = next(iter(small_batches.shards.values()))
    record_batch = shard.intake.record_batch
    failures: list[int] = []

    def fail_once(batch: Sequence[Inbound], tracking: Tracking | None = None) -> list[Verdict]:
        if not failures:
            failures.append(len(batch))
            raise RuntimeError("the store is unavailable")
        return record_batch(batch, tracking)

    shard.intake.record_batch = fail_once  # type: ignore[method-assign]
    events = [inbound("CustomerVisited", customer={"phone": "13800138000"}) for _ in range(30)]
    for event in events:
        await publish(js, event)
    await wait_count(js, "RETENTION", 30)

    recorded = [m.json()["event_id"] for m in await read_stream(js, "RETENTION")]
    assert failures, "the first batch failed"
    assert recorded == [e["event_id"] for e in events], "redelivered first, each once"
