"""Repurchase by complaint outcome: realised at the configured rates, by construction.

Each group's repurchasers are a quota, round(n × rate) members drawn at random, so the
realised rate is within 0.5/n of the configured one. At 1 dealership × 2,000 customers ×
12 months the groups hold roughly 150 quick, 100 slow, 55 unresolved and 130 silent
customers, so ±3 points holds with a wide margin (an independent Bernoulli draw would
need ~2,500 per group for ±3 points at 3 σ, which is why the generator does not use one).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from laoke.sim import SimConfig, SimRates, simulate
from laoke.sim.rates import GROUPS

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def test_repurchase_rates_by_outcome_are_within_3_points_of_the_defaults() -> None:
    truth = simulate(SimConfig(customers=2000, seed=7), now=NOW).truth
    rates = SimRates()
    for group in GROUPS:
        realised = truth.groups[group]
        assert realised.customers >= 50, (group, realised)
        assert realised.rate is not None
        assert abs(realised.rate - rates.repurchase(group)) <= 0.03, (group, realised)


def test_rates_are_settings() -> None:
    rates = SimRates(repurchase_quick=0.5, repurchase_silent=0.4, complaint=0.5)
    truth = simulate(SimConfig(customers=600, seed=3, rates=rates), now=NOW).truth
    assert abs((truth.groups["quick"].rate or 0) - 0.5) <= 0.03
    assert abs((truth.groups["silent"].rate or 0) - 0.4) <= 0.03


def test_group_definitions_hold_in_the_events() -> None:
    """Quick resolutions are within 48 h, slow ones after, and the counts add up."""
    truth = simulate(SimConfig(customers=800, seed=5), now=NOW).truth
    assert truth.complaints_resolved_within_sla == truth.groups["quick"].customers
    assert truth.complaints_resolved_late == truth.groups["slow"].customers
    assert truth.complaints_unresolved == truth.groups["unresolved"].customers
    assert truth.remedies_over_authority > 0 and truth.apologies_late > 0


def test_distributions_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match="churn_reasons"):
        SimRates(churn_reasons={"neglected": 0.5})


def test_churn_and_sources_follow_seed_003() -> None:
    # Everyone eligible churns, so the reasons are many enough to compare with the seed.
    rates = SimRates(churn=1.0, complaint=0.0, silent_dissatisfied=0.0, repurchase_baseline=0.0)
    truth = simulate(SimConfig(customers=1200, seed=9, rates=rates), now=NOW).truth
    sources = truth.sources
    total = sum(sources.values())
    assert abs(sources["friends"] / total - 0.30) < 0.05
    assert abs(sources["events"] / total - 0.30) < 0.05
    churned = sum(truth.churned.values())
    assert churned > 50
    assert abs(truth.churned["neglected"] / churned - 0.63) < 0.1
