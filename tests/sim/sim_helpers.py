"""Shared simulations (generated once per session) and a polite waiter."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from laoke.sim import SimConfig, Simulation, simulate

NOW = datetime(2026, 11, 24, tzinfo=UTC)


@cache
def small(seed: int = 7) -> Simulation:
    return simulate(SimConfig(dealerships=2, customers=300, months=12, seed=seed), now=NOW)
