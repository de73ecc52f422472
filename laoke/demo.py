"""`laoke run --demo`: the demo dealership's year, played as if laoke had run through it.

Published all at once, the simulated year would reach laoke as a history import (the
events dated months back, the clock at today): outreach would skip every contact whose
useful life had ended (docs/outreach.md, "Useful life"), survey invitations included,
and the year's survey answers would be rejected as `unknown_survey`; the dashboard's
survey panels would stay almost empty.

So on a fresh system the services of this process share a `ReplayClock`, held at the
window's start while the DMS history before it is imported; then the year is played
forward. Each step moves the clock to the next moment something happens: the next
simulated event (published with those that follow it up to the next pending deadline,
at most `STEP` later), or the next deadline a service has pending (its ticker fires it).
Before each step the services settle: every consumer has handled its stream, every
outbox is relayed and nothing is due. At the end the clock returns to the wall clock
(past the window), and what outlived its useful life meanwhile expires, as it would have.
Within one step the events come before the deadlines they themselves set (a complaint
filed and apologised for the same hour): `STEP` bounds that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from nats.js import JetStreamContext

from laoke.clock import ReplayClock
from laoke.deadlines import Ticker
from laoke.sim import SimEvent, publish
from laoke.streams import DEALER_IN, RETENTION
from laoke.threads import in_thread

log = logging.getLogger(__name__)
STEP = timedelta(days=1)  # the longest run of events published before the services settle
POLL_S = 0.005  # how often a settling replay looks again
CALM = 2  # quiet looks in a row (same stream ends) that make the services settled
STUCK_S = 60.0
FILL_S = 0.002  # consumers' batch filling while playing (laoke/runner.py; 50 ms else)


def _next_due(ticker: Ticker) -> datetime | None:
    with ticker.app.lock:  # the ticker fires under it: a deadline being fired is pending
        return ticker.index.next_due()


class Replay:
    """Plays events on `clock` through the services of this process (`services`: their
    workers), publishing with `publisher` and watching the streams with `watcher`."""

    def __init__(
        self,
        services: Sequence[Any],
        clock: ReplayClock,
        publisher: JetStreamContext,
        watcher: JetStreamContext,
    ) -> None:
        self.workers = [w for service in services for w in service.workers]
        self.clock = clock
        self.publisher = publisher
        self.watcher = watcher
        self.steps = 0

    async def next_deadline(self) -> datetime | None:
        tickers = [w.ticker for w in self.workers if w.ticker is not None]
        found = await asyncio.gather(*(in_thread(_next_due, t) for t in tickers))
        return min((due for due in found if due is not None), default=None)

    async def _busy(self, worker: Any) -> bool:
        durable = worker.consumer.durable
        info = await self.watcher.consumer_info(durable.stream, durable.name)
        if info.num_pending or info.num_ack_pending:
            return True
        return worker.outbox is not None and await in_thread(worker.outbox.unrelayed)

    async def _quiet(self) -> tuple[int, ...] | None:
        """The streams' last sequences when nothing is in flight, else None."""
        if any(await asyncio.gather(*(self._busy(w) for w in self.workers))):
            return None
        due = await self.next_deadline()
        if due is not None and due <= self.clock.now():
            self.clock.nudge()  # a ticker that waited for its consumer fires it now
            return None
        ends = [(await self.watcher.stream_info(s)).state.last_seq for s in (DEALER_IN, RETENTION)]
        return tuple(ends)

    async def settled(self) -> None:
        """Until every consumer has handled its stream, every outbox is relayed and no
        deadline is due, `CALM` looks in a row (or `STUCK_S` passed: then it says so and
        goes on, a step late rather than never)."""
        seen: list[tuple[int, ...]] = []
        give_up = time.monotonic() + STUCK_S
        while len(seen) < CALM:
            if time.monotonic() > give_up:
                log.warning("demo: the services did not settle at %s; going on", self.clock.now())
                return
            quiet = await self._quiet()
            if quiet is None or (seen and seen[-1] != quiet):
                seen.clear()
            if quiet is not None:
                seen.append(quiet)
            await asyncio.sleep(POLL_S)

    async def _publish(self, events: Sequence[SimEvent]) -> None:
        if events:
            await publish(self.publisher, events)
        await self.settled()
        self.steps += 1

    async def play(
        self,
        events: Sequence[SimEvent],
        start: datetime,
        progress: Callable[[datetime, int], None] | None = None,
    ) -> int:
        """Import the events before `start` at `start`, then play the rest forward; the clock
        is the wall clock again when this returns. Returns the number published."""
        self.clock.hold(start)
        history = [e for e in events if e.occurred_at < start]
        await self._publish(history)
        fills = [w.consumer.fill_s for w in self.workers]
        for worker in self.workers:
            worker.consumer.fill_s = FILL_S  # a step's few messages go on at once
        try:
            await self._play(events[len(history) :], progress, len(history))
        finally:
            for worker, fill in zip(self.workers, fills, strict=True):
                worker.consumer.fill_s = fill
        self.clock.release()
        await self.settled()
        return len(events)

    async def _play(
        self,
        played: Sequence[SimEvent],
        progress: Callable[[datetime, int], None] | None,
        before: int,
    ) -> None:
        i, month = 0, self.clock.now().strftime("%Y-%m")
        while i < len(played):
            moment = played[i].occurred_at
            due = await self.next_deadline()
            if due is not None and due <= moment:
                # a deadline before the event (or with it) fires first, at its own time:
                # a service judges by its clock whether it came too late (docs/outreach.md)
                self.clock.hold(max(self.clock.now(), due))
                await self._publish([])
                continue
            until = moment + STEP if due is None else min(due, moment + STEP)
            j = i
            while j < len(played) and played[j].occurred_at < until:
                j += 1
            self.clock.hold(max(self.clock.now(), played[j - 1].occurred_at))
            await self._publish(played[i:j])
            i = j
            if progress is not None and moment.strftime("%Y-%m") != month:
                progress(moment, before + i)
                month = moment.strftime("%Y-%m")


async def replay_demo(
    services: Sequence[Any],
    clock: ReplayClock,
    publisher: JetStreamContext,
    watcher: JetStreamContext,
    events: Sequence[SimEvent],
    start: datetime,
) -> int:
    """Play the demo's events (laoke.sim's `simulate`, window from `start`), printing progress."""
    began = time.perf_counter()
    replay = Replay(services, clock, publisher, watcher)

    def progress(moment: datetime, published: int) -> None:
        print(
            f"laoke: demo: played up to {moment:%Y-%m-%d} ({published} events,"
            f" {time.perf_counter() - began:.0f} s)",
            flush=True,
        )

    count = await replay.play(events, start, progress)
    print(
        f"laoke: demo dealership played through its year ({count} events, {replay.steps} steps,"
        f" {time.perf_counter() - began:.0f} s); the clock is the wall clock again",
        flush=True,
    )
    return count
