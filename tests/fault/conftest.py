"""The fault suite's seeds, shared input and clean run (no faults), built once per seed.

Every run tries the fixed seed 8 and a fresh random one (other inputs, other kill points),
both printed in the header and in a failure's report; `LAOKE_FAULT_SEED=N` runs seed N
alone (`make soak SEEDS=1-20` runs many in a row)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fault_inputs import Input, build_inputs
from fault_processes import SERVICES, Topology
from fault_run import Outcome, run_scenario

# Chosen in tests/conftest.py (which shows them in pytest's header): seed 8 and a fresh one,
# or LAOKE_FAULT_SEED alone.
SEEDS = [int(seed) for seed in os.environ["LAOKE_FAULT_SEEDS"].split(",")]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    seed = getattr(item, "callspec", None) and item.callspec.params.get("fault_seed")
    if report.failed and seed is not None:
        report.sections.append(("fault seed", f"re-run with LAOKE_FAULT_SEED={seed}"))
    return report


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks into its groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One seed's tests share its clean run (a session fixture): with `-n 2 --dist
    loadgroup` (scripts/test) they run on one worker, the other seed's on the other."""
    for item in items:
        seed = getattr(item, "callspec", None) and item.callspec.params.get("fault_seed")
        if seed is not None:
            item.add_marker(pytest.mark.xdist_group(f"fault-seed-{seed}"))


@pytest.fixture(scope="session", params=SEEDS, ids=lambda seed: f"seed={seed}")
def fault_seed(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture(scope="session")
def fault_t0(fault_seed: int) -> datetime:
    """Every input of this seed is dated in the 40 minutes before this moment (see
    fault_inputs): taken when the seed's runs begin, so no deadline falls within them."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def fault_inputs(fault_seed: int, fault_t0: datetime) -> list[Input]:
    return build_inputs(fault_seed, fault_t0)


def service_names() -> tuple[str, ...]:
    from fault_checks import projections_available

    return SERVICES if projections_available() else tuple(s for s in SERVICES if s != "projections")


@pytest.fixture(scope="session")
def clean_run(
    tmp_path_factory: pytest.TempPathFactory, fault_seed: int, fault_inputs: list[Input]
) -> Outcome:
    """The same input into a fresh single server without faults: the decisions to expect."""
    root: Path = tmp_path_factory.mktemp(f"clean-{fault_seed}")
    topology = Topology(root, size=1, services=service_names())

    async def run() -> Outcome:
        return await run_scenario(topology, fault_inputs, [], timeout=120)

    try:
        return asyncio.run(run())
    finally:
        topology.stop()
