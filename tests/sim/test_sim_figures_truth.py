"""The simulator's hidden rates read back by the figures within ±2 points: three seeds of
one dealership × 5,000 customers × 12 months with the default rates (docs/simulator.md),
projected in-process (tests/sim/recorded.py: no NATS, complaints' own rules), the figures
computed as `GET /v1/metrics/satisfaction` computes them, a year and a day after the window
so every repurchase window has ended.

Read back: repurchase by complaint outcome (seed 004's 82 / 54 / 19 / 9 %), and the
dissatisfaction the simulator planted (the low CSI/SSI answers and NPS detractors as
generated; the silent dissatisfied customers it planned). The end-to-end test through the
services is test_sim_metrics_truth.py (300 customers, ±3 points).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from laoke.sim import SimConfig, SimRates, simulate
from services.complaints.settings import ComplaintSettings
from services.projections.metrics import group_facts
from services.projections.queries.figures import load_facts
from tests.sim.recorded import project

NOW = datetime(2026, 11, 24, tzinfo=UTC)
DEALERSHIP = "sim-01"
POINTS = 0.02
# Without identity's stories: the in-process recorder (tests/sim/recorded.py) files each event
# under its simulated person, not by intake's rules, so a car sold on would count as its
# seller's purchase. Identity's own tests read cars sold on and wrong merges back.
RATES = SimRates(used_car_sale=0, wrong_merge=0)
# As in test_sim_metrics_truth.py: the simulator's dealership counts every hour, one SLA.
SIMULATED_DEALERSHIP = ComplaintSettings(clock="calendar", sla="PT48H")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", [5, 17, 29])
def test_the_figures_read_back_the_simulated_rates(seed: int, tmp_path: Path) -> None:
    config = SimConfig(
        customers=5000, months=12, seed=seed, dealership_ids=[DEALERSHIP], rates=RATES
    )
    simulation = simulate(config, now=NOW)
    store = project(simulation, SIMULATED_DEALERSHIP, tmp_path)
    later = NOW + timedelta(days=366)
    facts = load_facts(store, DEALERSHIP, simulation.start, simulation.end, later)
    (figures,) = group_facts(facts, "none")
    truth = simulation.truth

    # Repurchase by complaint outcome: within ±2 points of the rate, and the truth's groups.
    for name, group in (
        ("resolved_quickly", "quick"),
        ("resolved_slowly", "slow"),
        ("unresolved", "unresolved"),
        ("dissatisfied_never_complained", "silent"),
    ):
        found = getattr(figures.repurchase, name)
        assert found.pending == 0, name
        assert found.rate is not None and abs(found.rate - RATES.repurchase(group)) <= POINTS, (
            name,
            found,
        )
        expected = truth.groups[group]
        assert (found.denominator, found.numerator) == (expected.customers, expected.repurchasers)

    # Dissatisfaction: the low answers and the silent customers the simulator planted.
    low = figures.dissatisfaction
    for part, kind in ((low.csi_low, "CSI"), (low.ssi_low, "SSI"), (low.nps_detractors, "NPS")):
        planted = truth.surveys[kind]
        assert (part.answers, part.low) == (planted.answers, planted.low), kind
    assert low.silent.signalled == truth.groups["silent"].customers
    assert low.silent.complaints == sum(truth.complaints_by_category.values())
