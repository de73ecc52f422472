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


class _Waking:
    """Wakes the tickers waiting on the clock whenever it is moved."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_changed(self, timeout: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return
        finally:
            self._waiters.discard(waiter)


class ManualClock(_Waking):
    """A clock that only moves when told to; tickers waiting on it wake at once."""

    def __init__(self, start: datetime) -> None:
        super().__init__()
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when
        self._wake()

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)


class ReplayClock(_Waking):
    """The wall clock, except while a replay holds it at a past moment: `laoke run --demo`
    plays the demo dealership's year as if laoke had been running through it (laoke/demo.py),
    moving this clock along the replayed days, then `release()` hands it back to the wall
    clock. Held, it only moves forwards: a moment before the one held is refused."""

    def __init__(self) -> None:
        super().__init__()
        self._held: datetime | None = None

    def now(self) -> datetime:
        return self._held if self._held is not None else datetime.now(UTC)

    @property
    def held(self) -> bool:
        return self._held is not None

    def hold(self, when: datetime) -> None:
        """Show `when` from now on; tickers wake to fire what is due by then."""
        if when.tzinfo is None:
            raise ValueError("ReplayClock needs an aware datetime")
        if self._held is not None and when < self._held:
            raise ValueError(f"the clock may not go back from {self._held} to {when}")
        self._held = when
        self._wake()

    def nudge(self) -> None:
        """Wake the tickers without moving (one that waited for its consumer looks again)."""
        self._wake()

    def release(self) -> None:
        """Back to the wall clock (which is past every replayed moment)."""
        self._held = None
        self._wake()
