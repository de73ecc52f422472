"""A small simulation published to a real nats-server through a running IntakeService
lands whole on RETENTION (each event, plus one CustomersMerged per two-id person, one
VehicleOwnershipChanged per car sold on, a CustomersMerged and a CustomersUnmerged per
wrong merge) with nothing dead-lettered."""

from __future__ import annotations

from nats.js import JetStreamContext
from waiting import wait_for

from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.sim import DEMO_DEALERSHIP, SimConfig, SimRates, load_demo, publish, simulate
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
    rates = SimRates(used_car_sale=0.2, wrong_merge=0.1)
    simulation = simulate(SimConfig(customers=80, seed=5, rates=rates), now=clock.now())
    truth = simulation.truth
    assert truth.expected_merges > 0 and truth.used_car_sales > 0 and truth.wrong_merges > 0
    expected = (
        len(simulation.events)
        + truth.expected_merges
        + 2 * truth.wrong_merges  # merged, then unmerged
        + truth.used_car_sales
    )
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
        assert merges == truth.expected_merges + truth.wrong_merges
        splits = await _messages(js, RETENTION, "retention.*.*.CustomersUnmerged")
        assert splits == truth.wrong_merges
        sold = await _messages(js, RETENTION, "retention.*.*.VehicleOwnershipChanged")
        assert sold == truth.used_car_sales
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
