"""Waiting for a condition in tests: poll it, never sleep for a result."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_for(
    probe: Callable[[], Any],
    timeout: float = 20.0,
    what: str = "",
    *,
    explain: Callable[[], Awaitable[str]] | None = None,
    step: float = 0.02,
) -> Any:
    """Poll `probe` (sync or async) until it returns something truthy, and return that.

    Fails after `timeout` seconds, naming `what` (and `explain()`'s account of the state).
    The `step` is a poll interval, not a wait for a result.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            told = await explain() if explain is not None else ""
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or probe} {told}".rstrip()
            )
        await asyncio.sleep(step)
