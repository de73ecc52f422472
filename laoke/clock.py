"""Time is data: rules read an injected clock, tests move it, nothing sleeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def wait_changed(self, timeout: float) -> None:
        """Return when time may have moved enough to re-check deadlines."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def wait_changed(self, timeout: float) -> None:
        await asyncio.sleep(timeout)


class ManualClock:
    """A clock that only moves when told to; tickers waiting on it wake at once."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._waiters: set[asyncio.Future[None]] = set()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    async def wait_changed(self, timeout: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return
        finally:
            self._waiters.discard(waiter)
