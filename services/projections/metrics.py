"""Satisfaction metrics for a dealership and period, grouped by advisor, department or none.

`load_facts` reads what the period needs (indexed by dealership and time); `summarise`
is pure and turns facts into the figures. Definitions: docs/projections.md.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.projections.models import (
    ComplaintCountsPublic,
    MetricsGroupPublic,
    NpsPublic,
    PercentilesPublic,
    RatePublic,
    RepurchasePublic,
    ScorePublic,
)
from services.projections.store import ReadStore, parse_ts, ts

GroupBy = Literal["advisor", "department", "none"]
UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Fact:
    """One thing that happened in the period, with who it is attributed to."""

    kind: str
    advisor: str | None
    department: str | None
    values: dict[str, Any] = field(default_factory=dict)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 4)


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


def summarise(group: str, facts: Iterable[Fact], silent_per_complaint: float) -> MetricsGroupPublic:
    surveys: dict[str, list[int]] = defaultdict(list)
    categories: dict[str, int] = defaultdict(int)
    apology: list[float] = []
    resolution: list[float] = []
    sla_ok = sla_counted = 0
    done = due = 0
    converted = claimed = 0
    outcomes: dict[str, list[bool]] = defaultdict(list)
    complaints = 0
    for fact in facts:
        v = fact.values
        if fact.kind == "survey":
            surveys[v["kind"]].append(v["score"])
        elif fact.kind == "complaint":
            complaints += 1
            categories[v["category"]] += 1
            if v["hours_to_apology"] is not None:
                apology.append(v["hours_to_apology"])
            if v["hours_to_resolution"] is not None:
                resolution.append(v["hours_to_resolution"])
            if v["sla_settled"]:
                sla_counted += 1
                sla_ok += 1 if v["within_sla"] else 0
            outcomes[v["outcome"]].append(v["repurchased"])
        elif fact.kind == "followup":
            due += 1
            done += 1 if v["done"] else 0
        elif fact.kind == "referral":
            claimed += 1
            converted += 1 if v["converted"] else 0
        elif fact.kind == "silent":
            outcomes["dissatisfied_never_complained"].append(v["repurchased"])

    def repurchase(name: str) -> RatePublic:
        found = outcomes.get(name, [])
        return rate(sum(found), len(found))

    return MetricsGroupPublic(
        group=group,
        csi=score(surveys["CSI"]),
        ssi=score(surveys["SSI"]),
        nps=nps(surveys["NPS"]),
        complaints=ComplaintCountsPublic(
            total=complaints, by_category=dict(sorted(categories.items()))
        ),
        hours_to_apology=PercentilesPublic(
            count=len(apology), p50=percentile(apology, 50), p90=percentile(apology, 90)
        ),
        hours_to_resolution=PercentilesPublic(
            count=len(resolution), p50=percentile(resolution, 50), p90=percentile(resolution, 90)
        ),
        resolved_within_sla=rate(sla_ok, sla_counted),
        follow_up_completion=rate(done, due),
        referral_conversion=rate(converted, claimed),
        repurchase=RepurchasePublic(
            resolved_quickly=repurchase("resolved_quickly"),
            resolved_slowly=repurchase("resolved_slowly"),
            unresolved=repurchase("unresolved"),
            dissatisfied_never_complained=repurchase("dissatisfied_never_complained"),
        ),
        silent_dissatisfied_estimate=round(complaints * silent_per_complaint, 2),
    )


def group_facts(
    facts: Iterable[Fact], group_by: GroupBy, silent_per_complaint: float
) -> list[MetricsGroupPublic]:
    key: Callable[[Fact], str]
    if group_by == "advisor":
        key = lambda f: f.advisor or UNASSIGNED  # noqa: E731
    elif group_by == "department":
        key = lambda f: f.department or UNASSIGNED  # noqa: E731
    else:
        key = lambda f: "all"  # noqa: E731
    groups: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        groups[key(fact)].append(fact)
    if not groups and group_by == "none":
        groups["all"] = []
    return [summarise(name, groups[name], silent_per_complaint) for name in sorted(groups)]


# -- loading -------------------------------------------------------------------------------------


def _repurchased(store: ReadStore, customer_id: str, after: str) -> bool:
    found = store.query(
        "SELECT 1 FROM purchases WHERE customer_id = ? AND at > ? LIMIT 1", (customer_id, after)
    )
    return bool(found)


def load_facts(
    store: ReadStore, dealership_id: str, start: datetime, end: datetime, now: datetime
) -> list[Fact]:
    lo, hi, stamp = ts(start), ts(end), ts(now)
    facts: list[Fact] = []
    for kind, value, advisor, department in store.query(
        "SELECT kind, score, advisor_id, department FROM surveys WHERE dealership_id = ?"
        " AND answered_at >= ? AND answered_at < ? AND rejected = 0",
        (dealership_id, lo, hi),
    ):
        facts.append(Fact("survey", advisor, department, {"kind": kind, "score": int(value)}))
    for row in store.query(
        "SELECT customer_id, category, advisor_id, department, filed_at, apologised_at,"
        " resolved_at, within_sla, doc FROM complaints WHERE dealership_id = ?"
        " AND filed_at >= ? AND filed_at < ?",
        (dealership_id, lo, hi),
    ):
        customer_id, category, advisor, department, filed, apologised, resolved, within = row[:8]
        doc = json.loads(row[8])
        filed_at = parse_ts(filed)
        hours_apology = (
            (parse_ts(apologised) - filed_at).total_seconds() / 3600 if apologised else None
        )
        hours_resolution = (
            (parse_ts(resolved) - filed_at).total_seconds() / 3600 if resolved else None
        )
        if resolved:
            outcome = "resolved_quickly" if within else "resolved_slowly"
        else:
            outcome = "unresolved"
        # Counted for the SLA share once settled: resolved, or its SLA ran out unresolved.
        settled = bool(resolved) or stamp > doc["sla_due_at"]
        facts.append(
            Fact(
                "complaint",
                advisor,
                department,
                {
                    "category": category,
                    "hours_to_apology": hours_apology,
                    "hours_to_resolution": hours_resolution,
                    "sla_settled": settled,
                    "within_sla": bool(within) if resolved else False,
                    "outcome": outcome,
                    "repurchased": _repurchased(store, customer_id, filed),
                },
            )
        )
    for status, advisor, department in store.query(
        "SELECT status, advisor_id, department FROM followups WHERE dealership_id = ?"
        " AND due_at >= ? AND due_at < ? AND status <> 'skipped'",
        (dealership_id, lo, hi),
    ):
        facts.append(Fact("followup", advisor, department, {"done": status == "done"}))
    for verdict, advisor in store.query(
        "SELECT verdict, advisor_id FROM referrals WHERE dealership_id = ?"
        " AND claimed_at >= ? AND claimed_at < ?",
        (dealership_id, lo, hi),
    ):
        facts.append(
            Fact("referral", advisor, "sales", {"converted": verdict in ("verified", "rewarded")})
        )
    # Dissatisfied but never complained: a low score or risk flag in the period, and no
    # complaint at this dealership ever; first signal per customer.
    first_signal: dict[str, tuple[str, str | None, str | None]] = {}
    for customer_id, at, advisor, department in store.query(
        "SELECT s.customer_id, s.at, s.advisor_id, s.department FROM signals s"
        " WHERE s.dealership_id = ? AND s.at >= ? AND s.at < ? AND NOT EXISTS (SELECT 1 FROM"
        " complaints c WHERE c.customer_id = s.customer_id AND c.dealership_id = s.dealership_id)"
        " ORDER BY s.at, s.event_id",
        (dealership_id, lo, hi),
    ):
        first_signal.setdefault(customer_id, (at, advisor, department))
    for customer_id, (at, advisor, department) in sorted(first_signal.items()):
        facts.append(
            Fact(
                "silent", advisor, department, {"repurchased": _repurchased(store, customer_id, at)}
            )
        )
    return facts
