"""The demo's replay (laoke/demo.py) on a real nats-server with every service in process on
one ReplayClock: a small simulated dealership's history is imported at the window's start
(its contacts skipped as expired, as for any import), then its months are played forward;
every survey answer the simulator wrote then counts (outreach sent each invitation), open
contacts expire at their expiry in the played time, and the clock is the wall clock again
at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from events import (
    CustomersMerged,
    Event,
    FollowUpExpired,
    FollowUpSkipped,
    SurveyAnswerRejected,
    parse_recorded,
)
from laoke.clock import ReplayClock
from laoke.demo import Replay
from laoke.registry import SERVICES
from laoke.service import nats_options
from laoke.settings import LaokeSettings
from laoke.sim import SimConfig, simulate
from laoke.sim.config import CHINA
from laoke.streams import RETENTION

START = datetime(2024, 3, 4, tzinfo=CHINA)  # long before any wall clock running this test

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def running(settings: LaokeSettings) -> AsyncIterator[tuple[list[Any], ReplayClock]]:
    clock = ReplayClock()
    services = [entry.build(settings, clock) for entry in SERVICES]
    for service in services:
        await service.start()
    yield services, clock
    for service in reversed(services):
        await service.stop()


async def recorded(js: JetStreamContext) -> list[Event]:
    last = (await js.stream_info(RETENTION)).state.last_seq
    return [
        parse_recorded((await js.get_msg(RETENTION, n)).data or b"") for n in range(1, last + 1)
    ]


async def test_the_demo_replay_counts_every_answer_and_expires_in_played_time(
    settings: LaokeSettings, running: tuple[list[Any], ReplayClock], js: JetStreamContext
) -> None:
    services, clock = running
    simulation = simulate(
        SimConfig(customers=30, months=2, seed=5, start=START), now=START + timedelta(days=90)
    )
    answers = [e for e in simulation.events if e.event_type == "SurveyAnswered"]
    history = {e.event_id for e in simulation.events if e.occurred_at < START}
    assert answers and history, "the simulation has answers to count and a history to import"
    nc = await nats.connect(**nats_options(settings))  # type: ignore[arg-type]
    try:
        replay = Replay(services, clock, nc.jetstream(), nc.jetstream())
        published = await replay.play(simulation.events, simulation.start)
    finally:
        await nc.close()
    assert published == len(simulation.events)
    assert not clock.held and abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)

    events = await recorded(js)
    answered = {str(e.event_id) for e in events if e.event_type == "SurveyAnswered"}
    assert answered == {e.event_id for e in answers}
    rejected = [e for e in events if isinstance(e, SurveyAnswerRejected)]
    assert rejected == [], [(e.survey_id, e.why) for e in rejected]
    inbound = {e.event_id for e in simulation.events}
    last_inbound = max(n for n, e in enumerate(events) if str(e.event_id) in inbound)
    played = events[:last_inbound]  # (after it, the clock jumped to the wall clock)
    # The history is an import: what it called for was past its useful life at the start;
    # nothing the played months called for was. A merge (a wrong one, split later) plans
    # the survivor's contacts again: those whose life ended before it are skipped then.
    stale = [e for e in played if isinstance(e, FollowUpSkipped) and e.skip_reason == "expired"]
    merges = {str(e.event_id) for e in played if isinstance(e, CustomersMerged)}
    assert stale and {str(e.causation_id) for e in stale} <= history | merges
    # Played time: contacts nobody made expired at their expiry, when the clock passed it
    # while the window was played, not all at once at the end.
    expired = [e for e in events if isinstance(e, FollowUpExpired)]
    assert all(e.occurred_at == e.expires_at for e in expired)
    assert [e for e in played if isinstance(e, FollowUpExpired)]
