"""Satisfaction figures for dealerships and a period, pure: facts in, figures out.

`queries/figures.py` loads the facts (indexed by dealership and time); `group_facts` cuts
them by dealership, department and advisor (any of the three, or none) and `summarise`
turns each group's facts into the figures. Definitions: docs/projections.md.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

from services.projections.metricmodels import (
    ComplaintCountsPublic,
    DissatisfactionPublic,
    FixedVersusUntroubledPublic,
    LowShare,
    MetricsGroupPublic,
    NpsPublic,
    PercentilesPublic,
    RatePublic,
    RepurchasePublic,
    RepurchaseRatePublic,
    ScorePublic,
    SilentEstimatePublic,
    StepCountPublic,
)
from services.projections.models import Public
from services.projections.queries.complaints import STEP_NAMES

Dimension = Literal["dealership", "department", "advisor"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)
UNASSIGNED = "unassigned"
SILENT_ASSUMPTION = (
    "each complaint stands for {n:g} dissatisfied customers who never complain (seed 001:"
    " one complaint for ~20 silent ones; 90-98 % of dissatisfied customers never complain)"
)


@dataclass(frozen=True)
class Fact:
    """One thing that happened in the period, with who it is attributed to."""

    kind: str
    advisor: str | None
    department: str | None
    values: dict[str, Any] = field(default_factory=dict)
    count: int = 1  # this many alike (survey answers, follow-ups are loaded as counts)
    dealership: str = ""


@dataclass(frozen=True)
class Knobs:
    """The settings a figure reads (ProjectionSettings)."""

    silent_per_complaint: float = 20.0
    low_score_max: int = 6
    baseline: bool = False  # the never-complained baseline was loaded (asked for)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 4)


def percentiles(values: Sequence[float]) -> PercentilesPublic:
    return PercentilesPublic(
        count=len(values), p50=percentile(values, 50), p90=percentile(values, 90)
    )


def rate(numerator: int, denominator: int) -> RatePublic:
    return RatePublic(
        numerator=numerator,
        denominator=denominator,
        rate=round(numerator / denominator, 4) if denominator else None,
    )


def score(values: Sequence[int]) -> ScorePublic:
    mean = round(sum(values) / len(values), 3) if values else None
    return ScorePublic(count=len(values), mean=mean)


def nps(values: Sequence[int]) -> NpsPublic:
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    count = len(values)
    value = round(100 * (promoters - detractors) / count, 2) if count else None
    return NpsPublic(
        count=count,
        promoters=promoters,
        passives=count - promoters - detractors,
        detractors=detractors,
        score=value,
    )


def low_share(values: Sequence[int], at_most: int) -> LowShare:
    """Of the answers, those scoring `at_most` or less (dissatisfied)."""
    low = sum(1 for v in values if v <= at_most)
    return LowShare(answers=len(values), low=low, share=rate(low, len(values)).rate)


def repurchase_rate(standings: Sequence[str]) -> RepurchaseRatePublic:
    """Repurchased ÷ windows ended, with those still in their window as `pending`."""
    bought, pending = standings.count("repurchased"), standings.count("pending")
    return RepurchaseRatePublic(
        **rate(bought, len(standings) - pending).model_dump(), pending=pending
    )


def silent_estimate(complaints: int, signalled: int, knobs: Knobs) -> SilentEstimatePublic:
    return SilentEstimatePublic(
        complaints=complaints,
        per_complaint=knobs.silent_per_complaint,
        estimate=round(complaints * knobs.silent_per_complaint, 2),
        signalled=signalled,
        assumption=SILENT_ASSUMPTION.format(n=knobs.silent_per_complaint),
    )


def fixed_versus_untroubled(
    resolved: Sequence[str], untroubled: Sequence[str] | None
) -> FixedVersusUntroubledPublic:
    """Seed 004's "a customer whose problem was fixed is often twice as loyal": repurchase
    after a resolved complaint (quick or slow) against customers who never had a problem
    (None: that baseline was not asked for)."""
    fixed = repurchase_rate(resolved)
    never = repurchase_rate(untroubled) if untroubled is not None else None
    ratio = None
    if fixed.rate is not None and never is not None and never.rate:
        ratio = round(fixed.rate / never.rate, 2)
    return FixedVersusUntroubledPublic(fixed=fixed, never_complained=never, ratio=ratio)


def summarise(group: str, facts: Iterable[Fact], knobs: Knobs) -> MetricsGroupPublic:
    surveys: dict[str, list[int]] = defaultdict(list)
    categories: dict[str, int] = defaultdict(int)
    apology: list[float] = []
    resolution: list[float] = []
    business: dict[str, list[float]] = {"apology": [], "resolution": []}
    sla_ok = sla_counted = 0
    done = due = 0
    converted = claimed = 0
    outcomes: dict[str, list[str]] = defaultdict(list)
    complaints = 0
    reached = dict.fromkeys(STEP_NAMES, 0)
    stands = dict.fromkeys(STEP_NAMES, 0)  # unclosed complaints at each step
    for fact in facts:
        v = fact.values
        if fact.kind == "survey":
            surveys[v["kind"]].extend([v["score"]] * fact.count)
        elif fact.kind == "complaint":
            complaints += 1
            categories[v["category"]] += 1
            for step in range(1, v["step"] + 1):
                reached[step] += 1
            if not v["closed"]:
                stands[v["step"]] += 1
            if v["hours_to_apology"] is not None:
                apology.append(v["hours_to_apology"])
            if v["hours_to_resolution"] is not None:
                resolution.append(v["hours_to_resolution"])
            for name, found in business.items():
                if (hours := v.get(f"business_hours_to_{name}")) is not None:
                    found.append(hours)
            if v["sla_settled"]:
                sla_counted += 1
                sla_ok += 1 if v["within_sla"] else 0
            if v["repurchase"] is not None:  # None: open inside its SLA, no outcome yet
                outcome, standing = v["repurchase"]
                outcomes[outcome].append(standing)
        elif fact.kind == "followup":
            due += fact.count
            done += fact.count if v["done"] else 0
        elif fact.kind == "referral":
            claimed += 1
            converted += 1 if v["converted"] else 0
        elif fact.kind == "silent":
            outcomes["dissatisfied_never_complained"].append(v["repurchase"])
        elif fact.kind == "untroubled":
            outcomes["untroubled"].append(v["repurchase"])

    silent = silent_estimate(complaints, len(outcomes["dissatisfied_never_complained"]), knobs)
    return MetricsGroupPublic(
        group=group,
        csi=score(surveys["CSI"]),
        ssi=score(surveys["SSI"]),
        nps=nps(surveys["NPS"]),
        dissatisfaction=DissatisfactionPublic(
            csi_low=low_share(surveys["CSI"], knobs.low_score_max),
            ssi_low=low_share(surveys["SSI"], knobs.low_score_max),
            nps_detractors=low_share(surveys["NPS"], 6),
            silent=silent,
            fixed_versus_untroubled=fixed_versus_untroubled(
                outcomes["resolved_quickly"] + outcomes["resolved_slowly"],
                outcomes["untroubled"] if knobs.baseline else None,
            ),
        ),
        complaints=ComplaintCountsPublic(
            total=complaints,
            by_category=dict(sorted(categories.items())),
            funnel=[
                StepCountPublic(step=n, name=name, reached=reached[n], standing=stands[n])
                for n, name in STEP_NAMES.items()
            ],
        ),
        hours_to_apology=percentiles(apology),
        hours_to_resolution=percentiles(resolution),
        business_hours_to_apology=percentiles(business["apology"]),
        business_hours_to_resolution=percentiles(business["resolution"]),
        resolved_within_sla=rate(sla_ok, sla_counted),
        follow_up_completion=rate(done, due),
        referral_conversion=rate(converted, claimed),
        repurchase=RepurchasePublic(
            resolved_quickly=repurchase_rate(outcomes["resolved_quickly"]),
            resolved_slowly=repurchase_rate(outcomes["resolved_slowly"]),
            unresolved=repurchase_rate(outcomes["unresolved"]),
            dissatisfied_never_complained=repurchase_rate(
                outcomes["dissatisfied_never_complained"]
            ),
        ),
        silent_dissatisfied_estimate=silent.estimate,
    )


def dimensions_of(group_by: str | Sequence[str]) -> tuple[Dimension, ...]:
    """`group_by` as the API takes it ("none", "advisor", "dealership,department", …) as
    dimensions in their fixed order (dealership, department, advisor); ValueError if
    unknown."""
    names = group_by.split(",") if isinstance(group_by, str) else list(group_by)
    wanted = {n.strip() for n in names if n.strip() and n.strip() != "none"}
    if unknown := wanted - set(DIMENSIONS):
        raise ValueError(f"unknown {sorted(unknown)}: use none or any of {', '.join(DIMENSIONS)}")
    return tuple(d for d in DIMENSIONS if d in wanted)


def key_of(fact: Fact, dimensions: Sequence[Dimension]) -> tuple[str, ...]:
    parts = {
        "dealership": fact.dealership,
        "department": fact.department or UNASSIGNED,
        "advisor": fact.advisor or UNASSIGNED,
    }
    return tuple(parts[d] for d in dimensions)


def group_facts(
    facts: Iterable[Fact],
    group_by: str | Sequence[str],
    knobs: Knobs = Knobs(),
) -> list[MetricsGroupPublic]:
    """The satisfaction figures per group (`cut_facts`)."""
    return cut_facts(facts, group_by, lambda group, found: summarise(group, found, knobs))


# A group's figures: a model with the fields `group`, `dealership_id`, `department`, `advisor_id`.
Figures = TypeVar("Figures", bound=Public)


def cut_facts(
    facts: Iterable[Fact],
    group_by: str | Sequence[str],
    figures: Callable[[str, list[Fact]], Figures],
) -> list[Figures]:
    """The `figures` per group: one group per value of the dimensions (`group` names it, the
    parts joined by '/'; 'all' without dimensions), each naming its dealership,
    department and advisor where it is cut by them."""
    dimensions = dimensions_of(group_by)
    groups: dict[tuple[str, ...], list[Fact]] = defaultdict(list)
    for fact in facts:
        groups[key_of(fact, dimensions)].append(fact)
    if not groups and not dimensions:
        groups[()] = []
    answers = []
    for key in sorted(groups):
        found = figures("/".join(key) or "all", groups[key])
        cut = dict(zip(dimensions, key, strict=True))
        answers.append(
            found.model_copy(
                update={
                    "dealership_id": cut.get("dealership"),
                    "department": cut.get("department"),
                    "advisor_id": cut.get("advisor"),
                }
            )
        )
    return answers
