"""`laoke run` stops the demo's player on Ctrl-C even when a cancellation is swallowed once
(Python 3.11's `asyncio.wait_for` can lose one that meets a reply, deep in nats-py)."""

from __future__ import annotations

import asyncio

from laoke.cli import _cancel


async def test_cancel_ends_a_task_that_swallows_the_first_cancellation() -> None:
    swallowed = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()  # as a lost cancellation: the task goes on playing
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)  # let it start
    await asyncio.wait_for(_cancel(task), timeout=10)
    assert swallowed.is_set()
    assert task.cancelled()
