"""Pure rules: the metric formulas, no I/O (classes: test_classes_rules.py)."""

from __future__ import annotations

from services.projections.metrics import Fact, group_facts, nps, percentile


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
        "step": 2,
        "closed": False,
    }
    facts = [
        Fact("complaint", "adv-1", "service", complaint),
        Fact("complaint", "adv-1", "service", complaint | {"step": 6, "closed": True}),
        Fact("followup", "adv-2", "sales", {"done": True}),
        Fact("silent", None, "service", {"repurchase": "repurchased"}),
    ]
    groups = {g.group: g for g in group_facts(facts, "advisor")}
    assert set(groups) == {"adv-1", "adv-2", "unassigned"}
    assert groups["adv-1"].complaints.by_category == {"arrogance": 2}
    funnel = groups["adv-1"].complaints.funnel  # one apologised for, one closed
    assert [s.reached for s in funnel] == [2, 2, 1, 1, 1, 1]
    assert [s.standing for s in funnel] == [0, 1, 0, 0, 0, 0]
    assert [s.reached for s in groups["adv-2"].complaints.funnel] == [0] * 6
    assert groups["adv-1"].silent_dissatisfied_estimate == 40.0
    assert groups["adv-1"].repurchase.unresolved.rate == 0.0
    assert groups["adv-2"].follow_up_completion.rate == 1.0
    assert groups["unassigned"].repurchase.dissatisfied_never_complained.rate == 1.0
    (everyone,) = group_facts(facts, "none")
    assert everyone.group == "all" and everyone.complaints.total == 2
