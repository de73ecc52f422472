"""The simulator's hidden rates read back by the figures within ±2 points: three seeds of
one dealership × 5,000 customers × 12 months with the default rates (docs/simulator.md),
projected in-process (tests/sim/recorded.py: no NATS, complaints' own rules), the figures
computed as `GET /v1/metrics/satisfaction` computes them, a year and a day after the window
so every repurchase window has ended.

Read back: repurchase by complaint outcome (seed 004's 82 / 54 / 19 / 9 %), the
dissatisfaction the simulator planted (the low CSI/SSI answers and NPS detractors as
generated; the silent dissatisfied customers it planned), and as `GET /v1/metrics/retention`
computes them at the window's end, the new customers' sources (seed 003's 30 / 30 / 20 / 5
/ 15 %) and the lost customers' neglect (seed 003's 63 %; the five reasons told on a call
are free text, read back as one count). The end-to-end test through the
services is test_sim_metrics_truth.py (300 customers, ±3 points).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from laoke.sim import SimConfig, SimRates, simulate
from services.complaints.settings import ComplaintSettings
from services.projections.metrics import cut_facts, group_facts
from services.projections.queries.figures import load_facts
from services.projections.queries.retention import load_retention_facts
from services.projections.retention import summarise_retention
from services.projections.settings import ClassThresholds
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
LIMITS = ClassThresholds()  # lost: no touchpoint for more than 180 days
HISTORY = timedelta(days=6 * 365)  # owners' DMS history starts at most 3 years before
# The retention figure's first contacts and the simulator's sources (docs/simulator.md).
SOURCES = {
    "referred": "friends",
    "event": "events",
    "phoned_in": "non_business",
    "walk_in": "cold_visit",
    "other": "other",
}


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

    # Acquisition (seed 003's sources): the window's new customers by how they first came,
    # as the simulation ends.
    end = simulation.end
    facts = load_retention_facts(store, DEALERSHIP, simulation.start, end, end, LIMITS)
    (retention,) = cut_facts(facts, "none", summarise_retention)
    came = retention.acquisition
    assert came.new_customers == sum(truth.sources.values())
    for name, source in SOURCES.items():
        found = getattr(came, name)
        assert found.customers == truth.sources.get(source, 0), name
        assert abs(found.share - RATES.referral_sources[source]) <= POINTS, (name, found)

    # Lost customers (seed 003's reasons), over all the history: the churners are those
    # with neither a complaint nor a dissatisfaction signal before they went quiet; the
    # neglected are not called, the others' last call notes why (free text: one count).
    facts = load_retention_facts(store, DEALERSHIP, simulation.start - HISTORY, end, end, LIMITS)
    (retention,) = cut_facts(facts, "none", summarise_retention)
    lost = retention.lost
    told = sum(n for reason, n in truth.churned.items() if reason != "neglected")
    assert lost.neglected.numerator == truth.churned["neglected"]
    assert (lost.last_call.numerator, lost.contacted.numerator) == (told, 0)
    assert lost.complained.numerator > 0 and lost.dissatisfied.numerator > 0
    share = lost.neglected_share
    assert share.rate is not None
    assert abs(share.rate - RATES.churn_reasons["neglected"]) <= POINTS, share
