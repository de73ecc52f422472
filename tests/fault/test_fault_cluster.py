"""The same against a 3-server JetStream cluster on 127.0.0.1 (streams with 3 replicas,
services given all three URLs): one nats-server is SIGKILLed mid-run and restarted, and
each service process too; nothing lost, nothing doubled, decisions as in a clean run."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest
from conftest import service_names
from fault_checks import check_outcome, check_projections
from fault_inputs import Input
from fault_processes import Topology
from fault_run import Outcome, kill_plan, run_scenario

pytestmark = [pytest.mark.fault, pytest.mark.timeout(420)]


async def test_cluster_survives_a_server_kill_and_service_kills(
    tmp_path: Path,
    fault_seed: int,
    fault_inputs: list[Input],
    clean_run: Outcome,
    fault_t0: datetime,
) -> None:
    topology = Topology(tmp_path, size=3, services=service_names())
    victim = f"nats-{random.Random(fault_seed).randrange(3)}"
    kills = kill_plan(fault_seed + 1, [*topology.services, victim], len(fault_inputs))
    try:
        outcome = await run_scenario(topology, fault_inputs, kills, timeout=180)
        figures = check_outcome(outcome, fault_inputs, clean_run, fault_t0)
        if "projections" in topology.services:
            await check_projections(topology)
    finally:
        topology.stop()
    assert figures.kills == len(topology.services) + 1
    print(f"\nfault (3-server cluster, {victim} killed): {figures.line()}")
