"""A small simulation published to a real nats-server through a running IntakeService
lands whole on RETENTION (each event, plus one CustomersMerged per two-id person) with
nothing dead-lettered."""

from __future__ import annotations

from nats.js import JetStreamContext
from waiting import wait_for

from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.sim import DEMO_DEALERSHIP, SimConfig, load_demo, publish, simulate
from laoke.streams import RETENTION, RETENTION_DLQ
from services.intake.service import IntakeService


async def _messages(js: JetStreamContext, stream: str, subjects: str | None = None) -> int:
    info = await js.stream_info(stream, subjects_filter=subjects)
    if subjects is None:
        return info.state.messages
    return sum((info.state.subjects or {}).values())


async def test_simulation_lands_on_retention_with_nothing_in_the_dlq(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> None:
    simulation = simulate(SimConfig(customers=80, seed=5), now=clock.now())
    expected = len(simulation.events) + simulation.truth.expected_merges
    assert simulation.truth.expected_merges > 0
    intake = IntakeService(settings, clock)
    await intake.start()
    try:
        published = await publish(js, simulation.events, window=500)
        assert published == len(simulation.events)

        async def landed() -> bool:
            return await _messages(js, RETENTION) >= expected

        await wait_for(landed, timeout=30)
        assert await _messages(js, RETENTION) == expected
        merges = await _messages(js, RETENTION, "retention.*.*.CustomersMerged")
        assert merges == simulation.truth.expected_merges
        assert await _messages(js, RETENTION_DLQ) == 0
    finally:
        await intake.stop()


async def test_load_demo_publishes_the_demo_dealership(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> None:
    intake = IntakeService(settings, clock)
    await intake.start()
    try:
        count = await load_demo(js, customers=60, now=clock.now())
        assert count > 500

        async def landed() -> bool:
            return await _messages(js, RETENTION, f"retention.{DEMO_DEALERSHIP}.>") >= count

        await wait_for(landed, timeout=30)
        assert await _messages(js, RETENTION_DLQ) == 0
    finally:
        await intake.stop()
