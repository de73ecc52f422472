"""The fault suite's shared input and its clean run (no faults), built once per session."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fault_inputs import Input, build_inputs
from fault_processes import SERVICES, Topology
from fault_run import Outcome, run_scenario

SEED = int(os.environ.get("LAOKE_FAULT_SEED", "8"))  # another seed: other inputs and kills


@pytest.fixture(scope="session")
def fault_t0() -> datetime:
    """Every input is dated in the 40 minutes before this moment (see fault_inputs)."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def fault_inputs(fault_t0: datetime) -> list[Input]:
    return build_inputs(SEED, fault_t0)


def service_names() -> tuple[str, ...]:
    from fault_checks import projections_available

    return SERVICES if projections_available() else tuple(s for s in SERVICES if s != "projections")


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory, fault_inputs: list[Input]) -> Outcome:
    """The same input into a fresh single server without faults: the decisions to expect."""
    root: Path = tmp_path_factory.mktemp("clean")
    topology = Topology(root, size=1, services=service_names())

    async def run() -> Outcome:
        return await run_scenario(topology, fault_inputs, [], timeout=120)

    try:
        return asyncio.run(run())
    finally:
        topology.stop()
