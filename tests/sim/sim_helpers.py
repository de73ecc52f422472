"""Shared simulations (generated once per session) and a polite waiter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from laoke.sim import SimConfig, Simulation, simulate

NOW = datetime(2026, 11, 24, tzinfo=UTC)


@cache
def small(seed: int = 7) -> Simulation:
    return simulate(SimConfig(dealerships=2, customers=300, months=12, seed=seed), now=NOW)


async def wait_for(predicate: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    """Poll an async predicate until truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {result!r})")
        await asyncio.sleep(0.05)
