"""SIGKILL each service process and nats-server (one server) while a simulated stream is
published; afterwards nothing is lost, nothing doubled, and the decisions are those of a
clean run. Run with: .venv/bin/python -m pytest tests/fault -m fault -q"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from conftest import service_names
from fault_checks import check_outcome, check_projections
from fault_inputs import Input
from fault_processes import Topology
from fault_run import Outcome, kill_plan, run_scenario

pytestmark = [pytest.mark.fault, pytest.mark.timeout(420)]


async def test_kills_of_every_process_lose_and_double_nothing(
    tmp_path: Path,
    fault_seed: int,
    fault_inputs: list[Input],
    clean_run: Outcome,
    fault_t0: datetime,
) -> None:
    topology = Topology(tmp_path, size=1, services=service_names())
    kills = kill_plan(fault_seed, [*topology.services, "nats-0"], len(fault_inputs))
    try:
        outcome = await run_scenario(topology, fault_inputs, kills, timeout=150)
        figures = check_outcome(outcome, fault_inputs, clean_run, fault_t0)
        if "projections" in topology.services:
            await check_projections(topology)
    finally:
        topology.stop()
    assert figures.kills == len(topology.services) + 1
    print(f"\nfault (1 server): {figures.line()}")
