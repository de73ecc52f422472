"""Pure rules: dissatisfaction beside the means (low-score shares, detractors, the silent
estimate, fixed against never-complained repurchase) and the cuts by dealership,
department and advisor, on small hand-made facts."""

from __future__ import annotations

from typing import Any

import pytest

from services.projections.metrics import Fact, Knobs, dimensions_of, group_facts


def survey(kind: str, score: int, count: int = 1, **where: Any) -> Fact:
    return Fact(
        "survey",
        where.get("advisor", "adv-1"),
        where.get("department", "service"),
        {"kind": kind, "score": score},
        count,
        where.get("dealership", "d-1"),
    )


def complaint(outcome: str, standing: str, **where: Any) -> Fact:
    values = {
        "category": "delays",
        "hours_to_apology": 1.0,
        "hours_to_resolution": 10.0,
        "sla_settled": True,
        "within_sla": outcome == "resolved_quickly",
        "repurchase": (outcome, standing),
        "step": 6,
        "closed": True,
    }
    return Fact(
        "complaint",
        where.get("advisor", "adv-1"),
        where.get("department", "service"),
        values,
        1,
        where.get("dealership", "d-1"),
    )


def untroubled(standing: str, **where: Any) -> Fact:
    advisor, department = where.get("advisor", "adv-1"), where.get("department", "service")
    values = {"repurchase": standing}
    return Fact("untroubled", advisor, department, values, 1, where.get("dealership", "d-1"))


def test_low_scores_are_counted_beside_the_mean() -> None:
    facts = [
        survey("CSI", 10, 6),
        survey("CSI", 6, 3),  # 6 is dissatisfied
        survey("CSI", 2, 1),
        survey("SSI", 7, 4),  # 7 is not
        survey("NPS", 10, 2),
        survey("NPS", 8, 1),
        survey("NPS", 5, 1),
    ]
    (group,) = group_facts(facts, "none")
    low = group.dissatisfaction
    assert (low.csi_low.answers, low.csi_low.low, low.csi_low.share) == (10, 4, 0.4)
    assert group.csi.mean == 8.0  # a good mean beside four unhappy answers in ten
    assert (low.ssi_low.low, low.ssi_low.share) == (0, 0.0)
    assert (low.nps_detractors.answers, low.nps_detractors.low) == (4, 1)
    assert low.nps_detractors.share == 0.25


def test_the_low_score_line_is_a_setting() -> None:
    (group,) = group_facts([survey("CSI", 7, 2), survey("CSI", 9)], "none", Knobs(low_score_max=7))
    assert group.dissatisfaction.csi_low.low == 2
    empty = group_facts([], "none")[0].dissatisfaction
    assert (empty.csi_low.answers, empty.csi_low.share) == (0, None)


def test_the_silent_estimate_states_its_assumption_and_what_the_data_shows() -> None:
    facts = [
        complaint("unresolved", "not_repurchased"),
        complaint("resolved_quickly", "repurchased"),
        Fact("silent", "adv-1", "service", {"repurchase": "pending"}, 1, "d-1"),
    ]
    (group,) = group_facts(facts, "none", Knobs(silent_per_complaint=15))
    silent = group.dissatisfaction.silent
    assert (silent.complaints, silent.per_complaint, silent.estimate) == (2, 15, 30)
    assert silent.signalled == 1
    assert "15 dissatisfied customers who never complain" in silent.assumption
    assert group.silent_dissatisfied_estimate == 30  # the older field, the same figure


def test_fixed_customers_against_customers_who_never_had_a_problem() -> None:
    facts = [
        # resolved quickly or slowly: 3 of 4 ended windows bought again, one pending
        complaint("resolved_quickly", "repurchased"),
        complaint("resolved_quickly", "repurchased"),
        complaint("resolved_slowly", "repurchased"),
        complaint("resolved_slowly", "not_repurchased"),
        complaint("resolved_quickly", "pending"),
        # unresolved complaints are not "fixed"
        complaint("unresolved", "not_repurchased"),
        # never complained: 3 of 8 bought again
        *[untroubled("repurchased") for _ in range(3)],
        *[untroubled("not_repurchased") for _ in range(5)],
        untroubled("pending"),
    ]
    (group,) = group_facts(facts, "none", Knobs(baseline=True))
    compared = group.dissatisfaction.fixed_versus_untroubled
    assert compared.never_complained is not None
    assert (compared.fixed.numerator, compared.fixed.denominator) == (3, 4)
    assert compared.fixed.pending == 1
    assert (compared.never_complained.numerator, compared.never_complained.denominator) == (3, 8)
    assert compared.never_complained.pending == 1
    assert compared.ratio == 2.0  # 0.75 / 0.375: "twice as loyal"


def test_no_ratio_without_both_rates() -> None:
    fixed = [complaint("resolved_quickly", "repurchased")]
    (group,) = group_facts(fixed, "none", Knobs(baseline=True))
    assert group.dissatisfaction.fixed_versus_untroubled.ratio is None
    (group,) = group_facts([untroubled("not_repurchased")], "none", Knobs(baseline=True))
    compared = group.dissatisfaction.fixed_versus_untroubled
    assert compared.never_complained is not None
    assert compared.never_complained.rate == 0.0 and compared.ratio is None
    # Not asked for: no baseline and no ratio, rather than a rate of nobody.
    (group,) = group_facts([*fixed, untroubled("repurchased")], "none")
    compared = group.dissatisfaction.fixed_versus_untroubled
    assert compared.never_complained is None and compared.ratio is None


def test_cuts_by_dealership_department_and_advisor() -> None:
    facts = [
        survey("CSI", 3, dealership="d-1", department="service", advisor="adv-1"),
        survey("SSI", 9, dealership="d-1", department="sales", advisor="adv-1"),
        survey("CSI", 9, dealership="d-2", department="service", advisor="adv-1"),
        complaint("unresolved", "pending", dealership="d-2", department="sales", advisor=None),
    ]
    (everyone,) = group_facts(facts, "none")
    assert (everyone.group, everyone.dealership_id, everyone.advisor_id) == ("all", None, None)
    assert everyone.csi.count == 2 and everyone.complaints.total == 1  # rolled up

    by_dealership = {g.group: g for g in group_facts(facts, "dealership")}
    assert set(by_dealership) == {"d-1", "d-2"}
    assert by_dealership["d-1"].dealership_id == "d-1"
    assert by_dealership["d-1"].dissatisfaction.csi_low.low == 1
    assert by_dealership["d-2"].dissatisfaction.csi_low.low == 0

    # The same advisor id at two dealerships is two people: cut by both.
    cut = group_facts(facts, "advisor,dealership,department")
    assert [g.group for g in cut] == [
        "d-1/sales/adv-1",
        "d-1/service/adv-1",
        "d-2/sales/unassigned",
        "d-2/service/adv-1",
    ]
    first = cut[0]
    assert (first.dealership_id, first.department, first.advisor_id) == ("d-1", "sales", "adv-1")
    assert first.ssi.count == 1 and first.csi.count == 0


def test_group_by_names_known_dimensions_only() -> None:
    assert dimensions_of("none") == ()
    assert dimensions_of("advisor, dealership") == ("dealership", "advisor")
    with pytest.raises(ValueError, match="branch"):
        dimensions_of("branch")
