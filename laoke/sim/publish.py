"""Where simulated events go: an NDJSON file, or NATS (`dealer.in.<d>.<Type>`, pipelined)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from nats.js import JetStreamContext
from nats.js.api import PubAck

from events import inbound_subject
from laoke.sim.config import SimConfig
from laoke.sim.generator import SimEvent, Simulation, simulate

DEMO_DEALERSHIP = "demo-4s"
Progress = Callable[[int, float], None]


def write_ndjson(events: Iterable[SimEvent], out: IO[bytes]) -> int:
    """One JSON object per line, in publish order; returns the number written."""
    n = 0
    for event in events:
        out.write(event.data)
        out.write(b"\n")
        n += 1
    return n


async def publish(
    js: JetStreamContext,
    events: Iterable[SimEvent],
    *,
    window: int = 2000,
    progress: Progress | None = None,
    every: int = 10_000,
) -> int:
    """Publish each event to `dealer.in.<d>.<Type>` with `publish_async`, up to `window`
    acknowledgements outstanding; returns once every one is acknowledged.

    `Nats-Msg-Id` is the event id, so a re-run within the stream's dedupe window is a
    no-op (intake dedupes by event id anyway). One connection keeps the publish order.
    """
    pending: list[asyncio.Future[PubAck]] = []
    started = time.perf_counter()
    n = 0
    for event in events:
        subject = inbound_subject(event.dealership_id, event.event_type)
        headers = {"Nats-Msg-Id": event.event_id}
        pending.append(await js.publish_async(subject, event.data, headers=headers))
        n += 1
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending.clear()
        if progress is not None and n % every == 0:
            progress(n, time.perf_counter() - started)
    await asyncio.gather(*pending)
    if progress is not None:
        progress(n, time.perf_counter() - started)
    return n


def demo_simulation(
    seed: int = 7, *, customers: int = 200, months: int = 12, now: datetime | None = None
) -> Simulation:
    """The demo dealership `demo-4s` (~200 customers, 12 months ending before `now`).

    `now` defaults to the wall clock here (the I/O edge), so the window ends in the past
    and intake accepts every event; the generator itself only sees the value passed in.
    """
    config = SimConfig(
        dealerships=1,
        customers=customers,
        months=months,
        seed=seed,
        dealership_ids=[DEMO_DEALERSHIP],
    )
    return simulate(config, now=now or datetime.now(UTC))


async def load_demo(
    js: JetStreamContext,
    seed: int = 7,
    *,
    customers: int = 200,
    months: int = 12,
    now: datetime | None = None,
) -> int:
    """Publish the demo dealership at once (`demo_simulation`): laoke receives its year as a
    history import (`laoke run --demo` plays it through instead: laoke/demo.py)."""
    simulation = demo_simulation(seed, customers=customers, months=months, now=now)
    return await publish(js, simulation.events)


def write_file(path: Path, events: Iterable[SimEvent]) -> int:
    with path.open("wb") as out:
        return write_ndjson(events, out)
