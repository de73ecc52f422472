"""A service closes its store only once no thread of its own still uses it (laoke/threads.py):
closing a SQLite connection another thread is reading crashes the process, and a cancelled
`asyncio.to_thread` leaves its thread running."""

from __future__ import annotations

import asyncio
import threading

import pytest
from nats.js import JetStreamContext
from waiting import wait_for

from laoke.clock import ManualClock
from laoke.publishing import Outgoing
from laoke.settings import LaokeSettings
from laoke.threads import in_thread
from services.referrals.service import ReferralsService

HELD_S = 30.0  # the longest a test holds a thread: a failing test ends, never hangs


async def _turns(n: int = 10) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_cancelled_caller_ends_only_once_its_thread_is_done() -> None:
    entered, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def work() -> str:
        entered.set()
        release.wait(HELD_S)
        finished.append("work")
        return "done"

    task = asyncio.create_task(in_thread(work))
    await in_thread(entered.wait, HELD_S)
    task.cancel()
    await _turns()
    assert not task.done()  # asyncio.to_thread's task would have ended here
    task.cancel()  # asked again: still waits
    await _turns()
    assert not task.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == ["work"]


async def test_the_result_and_the_error_of_the_function_come_back() -> None:
    def add(a: int, b: int = 0) -> int:
        return a + b

    assert await in_thread(add, 2, b=3) == 5

    def fail() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await in_thread(fail)


async def test_a_stop_closes_the_store_after_the_relays_read_in_its_thread(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> None:
    service = ReferralsService(settings, clock)
    order: list[str] = []
    entered, release, hold = threading.Event(), threading.Event(), threading.Event()
    read, close = service.app.outbox_after, service.close

    def outbox_after(position: int, limit: int) -> list[tuple[int, Outgoing]]:
        if hold.is_set():
            hold.clear()
            entered.set()
            release.wait(HELD_S)
            rows = read(position, limit)
            order.append("read")
            return rows
        return read(position, limit)

    def closing() -> None:
        order.append("closed")
        close()

    service.app.outbox_after = outbox_after  # type: ignore[method-assign]
    service.close = closing  # type: ignore[method-assign]
    await service.start()
    hold.set()
    assert service.relay is not None
    service.relay.kick()
    await in_thread(entered.wait, HELD_S)
    relay = next(t for t in asyncio.all_tasks() if "OutboxRelay.run" in repr(t.get_coro()))
    stopping = asyncio.create_task(service.stop())
    try:
        await wait_for(relay.cancelling, what="the stop to cancel the relay")
        await _turns()
        assert not relay.done() and order == []  # the stop waits for the relay's thread
    finally:
        release.set()
        await stopping
    assert order == ["read", "closed"]
