"""A burst while the read side is stopped is absorbed by the streams and caught up once it
starts: nothing lost, nothing doubled, memory bounded. Slow: marked `fault` (CI runs it).

Figures are printed (run with -s) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from backpressure_support import (
    Memory,
    inbound_burst,
    publish_pipelined,
    recorded_burst,
    sampling,
)
from nats.js import JetStreamContext
from waiting import wait_for

from laoke.clock import ManualClock
from laoke.natsserver import NatsServer
from laoke.settings import LaokeSettings
from laoke.streams import DEALER_IN, RETENTION, RETENTION_DLQ
from services.intake.service import IntakeService
from services.projections.application import CONSUMER
from services.projections.service import ProjectionsService

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]

RECORDED_BURST = 100_000
INBOUND_BURST = 20_000
CUSTOMERS = 2_000
MAX_GROWTH_MIB = 256  # this process (publisher + services); measured +20 to +40 MiB


def server_pid(server: NatsServer) -> int:
    assert server.process is not None
    return server.process.pid


async def count(js: JetStreamContext, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


def projected(service: ProjectionsService) -> tuple[int, int, int]:
    """(timeline entries, customers, failures) in the read store."""
    store = service.store
    return (
        store.query("SELECT COUNT(*) FROM timeline")[0][0],
        store.query("SELECT COUNT(*) FROM customers")[0][0],
        store.query("SELECT COUNT(*) FROM failures")[0][0],
    )


@pytest.fixture
async def projections(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> AsyncIterator[ProjectionsService]:
    """Projections, built but NOT started: the test starts it after the burst."""
    service = ProjectionsService(settings, clock)
    yield service
    await service.stop()


async def test_a_100k_burst_on_retention_is_caught_up_by_projections_with_nothing_lost(
    projections: ProjectionsService, js: JetStreamContext, running_nats: NatsServer
) -> None:
    memory = Memory(server_pid(running_nats))
    async with sampling(memory):
        started = time.perf_counter()
        stored = await publish_pipelined(js, recorded_burst(RECORDED_BURST, CUSTOMERS))
        publish_s = time.perf_counter() - started
        assert stored == RECORDED_BURST
        assert await count(js, RETENTION) == RECORDED_BURST, "the stream absorbed the burst"

        await projections.start()
        catch_up_s = await wait_for(
            lambda: projections.store.position(CONSUMER) >= RECORDED_BURST,
            240,
            "projections to catch up",
        )
    timeline, customers, failures = projected(projections)
    print(
        f"\nRETENTION burst: {RECORDED_BURST} published in {publish_s:.1f}s "
        f"({RECORDED_BURST / publish_s:,.0f}/s); projections caught up in {catch_up_s:.1f}s "
        f"({RECORDED_BURST / catch_up_s:,.0f}/s); RSS base {memory.base_kib // 1024} MiB, "
        f"peak {memory.peak_kib // 1024} MiB (+{memory.growth_mib:.0f}); nats-server peak "
        f"{memory.server_peak_kib // 1024} MiB"
    )
    assert timeline == RECORDED_BURST, "every event projected once: none lost, none doubled"
    assert customers == CUSTOMERS
    assert failures == 0
    assert await count(js, RETENTION_DLQ) == 0
    assert memory.growth_mib < MAX_GROWTH_MIB


async def test_a_20k_burst_through_intake_is_recorded_and_caught_up_with_nothing_lost(
    settings: LaokeSettings,
    clock: ManualClock,
    projections: ProjectionsService,
    js: JetStreamContext,
    running_nats: NatsServer,
) -> None:
    intake = IntakeService(settings, clock)
    await intake.start()
    memory = Memory(server_pid(running_nats))
    try:
        async with sampling(memory):
            started = time.perf_counter()
            stored = await publish_pipelined(js, inbound_burst(INBOUND_BURST, CUSTOMERS))
            publish_s = time.perf_counter() - started
            assert stored == INBOUND_BURST == await count(js, DEALER_IN)

            async def recorded() -> bool:
                return await count(js, RETENTION) >= INBOUND_BURST

            record_s = await wait_for(recorded, 180, "intake to record the burst")
            await projections.start()
            catch_up_s = await wait_for(
                lambda: projections.store.position(CONSUMER) >= INBOUND_BURST,
                120,
                "projections to catch up",
            )
    finally:
        await intake.stop()
    timeline, customers, failures = projected(projections)
    print(
        f"\nintake burst: {INBOUND_BURST} published in {publish_s:.1f}s; recorded on RETENTION "
        f"{record_s:.1f}s later ({INBOUND_BURST / (publish_s + record_s):,.0f}/s end to end); "
        f"projections caught up in {catch_up_s:.1f}s; RSS base {memory.base_kib // 1024} MiB, "
        f"peak {memory.peak_kib // 1024} MiB (+{memory.growth_mib:.0f}); nats-server peak "
        f"{memory.server_peak_kib // 1024} MiB"
    )
    assert await count(js, RETENTION) == INBOUND_BURST, "recorded exactly once"
    assert timeline == INBOUND_BURST
    assert customers == CUSTOMERS
    assert failures == 0
    assert await count(js, RETENTION_DLQ) == 0
    assert memory.growth_mib < MAX_GROWTH_MIB
