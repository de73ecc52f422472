"""Pure rules: customer classes and the metric formulas, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.projections.classes import classify
from services.projections.metrics import Fact, group_facts, nps, percentile
from services.projections.readmodels.context import new_customer_doc
from services.projections.settings import ClassThresholds
from services.projections.tables import ts

NOW = datetime(2026, 1, 20, tzinfo=UTC)
LIMITS = ClassThresholds()


def stats(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = new_customer_doc(NOW)["stats"]
    return base | changes


def days_ago(days: int) -> str:
    return ts(NOW - timedelta(days=days))


def test_many_complaints_and_little_spend_make_a_burden() -> None:
    found = classify(stats(complaints=3, spend_cny=8000.0), days_ago(3), NOW, LIMITS)
    assert found.customer_class == "burden"
    assert "3 complaints" in found.because[0]


def test_remedies_above_a_share_of_spend_make_a_burden() -> None:
    found = classify(
        stats(spend_cny=10000.0, remedies_paid_cny=3000.0, complaints=1), days_ago(3), NOW, LIMITS
    )
    assert found.customer_class == "burden"


def test_high_spend_recent_and_regular_service_is_gold() -> None:
    found = classify(
        stats(
            spend_cny=300000.0,
            largest_purchase_cny=290000.0,
            vehicle_purchases=1,
            last_big_purchase_at=days_ago(700),
            service_visits=4,
            first_service_at=days_ago(540),
            last_service_at=days_ago(20),
        ),
        days_ago(20),
        NOW,
        LIMITS,
    )
    assert found.customer_class == "gold"
    assert any("regular" in reason for reason in found.because)


def test_one_big_purchase_then_gone_is_a_meteor() -> None:
    found = classify(
        stats(
            spend_cny=290000.0,
            largest_purchase_cny=290000.0,
            vehicle_purchases=1,
            last_big_purchase_at=days_ago(400),
        ),
        days_ago(400),
        NOW,
        LIMITS,
    )
    assert found.customer_class == "meteor"
    assert found.facts["days_since_last_touchpoint"] == 400


def test_small_steady_spend_is_a_small_star() -> None:
    found = classify(
        stats(
            spend_cny=3000.0,
            service_visits=3,
            first_service_at=days_ago(360),
            last_service_at=days_ago(10),
        ),
        days_ago(10),
        NOW,
        LIMITS,
    )
    assert found.customer_class == "small_star"
    assert any("steady" in reason for reason in found.because)


def test_nps_counts_promoters_9_to_10_and_detractors_0_to_6() -> None:
    found = nps([10, 9, 8, 7, 6, 0])
    assert (found.promoters, found.passives, found.detractors) == (2, 2, 2)
    assert found.score == 0.0
    assert nps([]).score is None


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 50) == 5.0
    assert percentile(values, 90) == 9.0
    assert percentile([], 50) is None


def test_groups_by_advisor_and_estimates_silent_dissatisfaction() -> None:
    complaint = {
        "category": "arrogance",
        "hours_to_apology": 1.0,
        "hours_to_resolution": None,
        "sla_settled": True,
        "within_sla": False,
        "repurchase": ("unresolved", "not_repurchased"),
    }
    facts = [
        Fact("complaint", "adv-1", "service", complaint),
        Fact("complaint", "adv-1", "service", complaint),
        Fact("followup", "adv-2", "sales", {"done": True}),
        Fact("silent", None, "service", {"repurchase": "repurchased"}),
    ]
    groups = {g.group: g for g in group_facts(facts, "advisor", 20.0)}
    assert set(groups) == {"adv-1", "adv-2", "unassigned"}
    assert groups["adv-1"].complaints.by_category == {"arrogance": 2}
    assert groups["adv-1"].silent_dissatisfied_estimate == 40.0
    assert groups["adv-1"].repurchase.unresolved.rate == 0.0
    assert groups["adv-2"].follow_up_completion.rate == 1.0
    assert groups["unassigned"].repurchase.dissatisfied_never_complained.rate == 1.0
    (everyone,) = group_facts(facts, "none", 20.0)
    assert everyone.group == "all" and everyone.complaints.total == 2
