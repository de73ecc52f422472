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
from datetime import date, datetime, timedelta
from typing import Any, Literal

from services.projections.metricmodels import (
    ComplaintCountsPublic,
    MetricsGroupPublic,
    NpsPublic,
    PercentilesPublic,
    RatePublic,
    RepurchasePublic,
    RepurchaseRatePublic,
    ScorePublic,
    StepCountPublic,
)
from services.projections.queries.complaints import STEP_NAMES
from services.projections.repurchase import (
    ComplaintEnd,
    complaint_status,
    purchases_of,
)
from services.projections.repurchase import status as window_status
from services.projections.store import ReadStore
from services.projections.tables import parse_ts, ts

GroupBy = Literal["advisor", "department", "none"]
UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Fact:
    """One thing that happened in the period, with who it is attributed to."""

    kind: str
    advisor: str | None
    department: str | None
    values: dict[str, Any] = field(default_factory=dict)
    count: int = 1  # this many alike (survey answers, follow-ups are loaded as counts)


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


def summarise(group: str, facts: Iterable[Fact], silent_per_complaint: float) -> MetricsGroupPublic:
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

    def repurchase(name: str) -> RepurchaseRatePublic:
        found = outcomes.get(name, [])
        bought, ended = found.count("repurchased"), len(found) - found.count("pending")
        return RepurchaseRatePublic(
            **rate(bought, ended).model_dump(), pending=found.count("pending")
        )

    return MetricsGroupPublic(
        group=group,
        csi=score(surveys["CSI"]),
        ssi=score(surveys["SSI"]),
        nps=nps(surveys["NPS"]),
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


def load_facts(
    store: ReadStore,
    dealership_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    window: timedelta = timedelta(days=365),
) -> list[Fact]:
    """The period's facts, read on (dealership, time) indexes; survey answers and
    follow-ups come as counts per group, whole days of follow-ups from `followup_days`.
    `window`: the repurchase observation window (services/projections/repurchase.py)."""
    lo, hi, stamp = ts(start), ts(end), ts(now)
    facts: list[Fact] = []
    for kind, value, advisor, department, count in store.query(
        "SELECT kind, score, advisor_id, department, COUNT(*) FROM surveys"
        " WHERE dealership_id = ? AND answered_at >= ? AND answered_at < ? AND rejected = 0"
        " GROUP BY kind, score, advisor_id, department",
        (dealership_id, lo, hi),
    ):
        facts.append(
            Fact("survey", advisor, department, {"kind": kind, "score": int(value)}, int(count))
        )
    rows = store.query(
        "SELECT c.customer_id, c.category, c.advisor_id, c.department, c.filed_at,"
        " c.apologised_at, c.resolved_at, c.within_sla, c.doc"
        " FROM complaints c WHERE c.dealership_id = ? AND c.filed_at >= ? AND c.filed_at < ?",
        (dealership_id, lo, hi),
    )
    bought = purchases_of(store, sorted({r[0] for r in rows}), lo)
    for row in rows:
        customer, category, advisor, department, filed, apologised, resolved, within = row[:8]
        doc = json.loads(row[8])
        filed_at = parse_ts(filed)
        hours_apology = (
            (parse_ts(apologised) - filed_at).total_seconds() / 3600 if apologised else None
        )
        hours_resolution = (
            (parse_ts(resolved) - filed_at).total_seconds() / 3600 if resolved else None
        )
        # Counted for the SLA share once settled: resolved, or its SLA ran out unresolved.
        due = doc["sla_due_at"]
        settled = bool(resolved) or (due is not None and stamp > due)
        facts.append(
            Fact(
                "complaint",
                advisor,
                department,
                {
                    "category": category,
                    "hours_to_apology": hours_apology,
                    "hours_to_resolution": hours_resolution,
                    # Opening hours are complaints' rule: as it recorded them, never computed.
                    "business_hours_to_apology": doc.get("business_hours_to_apology"),
                    "business_hours_to_resolution": (
                        doc.get("business_hours_to_resolution") if resolved else None
                    ),
                    "sla_settled": settled,
                    "within_sla": bool(within) if resolved else False,
                    "repurchase": complaint_status(
                        _complaint_end(filed_at, resolved, within, doc),
                        bought[customer],
                        now,
                        window,
                    ),
                    "step": doc["step"],
                    "closed": doc["closed_at"] is not None,
                },
            )
        )
    for status, advisor, department, count in followup_counts(store, dealership_id, lo, hi):
        facts.append(Fact("followup", advisor, department, {"done": status == "done"}, int(count)))
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
    signalled = sorted(first_signal)
    bought = purchases_of(store, signalled, lo)
    for customer_id in signalled:
        at, advisor, department = first_signal[customer_id]
        found = window_status(parse_ts(at), bought[customer_id], now, window)
        facts.append(Fact("silent", advisor, department, {"repurchase": found}))
    return facts


def _complaint_end(
    filed_at: datetime, resolved: str | None, within: int | None, doc: dict[str, Any]
) -> ComplaintEnd:
    def at(value: str | None) -> datetime | None:
        return parse_ts(value) if value else None

    return ComplaintEnd(
        filed_at=filed_at,
        resolved_at=at(resolved),
        within_sla=bool(within) if resolved else None,
        closed_at=at(doc["closed_at"]),
        sla_due_at=at(doc["sla_due_at"]),
        repair_order_id=doc.get("repair_order_id"),
    )


def followup_counts(
    store: ReadStore, dealership_id: str, lo: str, hi: str
) -> list[tuple[str, str | None, str | None, int]]:
    """(status, advisor, department, count) of the follow-ups due in [lo, hi), skipped ones
    left out: whole UTC days summed from `followup_days`, the partial days at either end
    counted on the (dealership, due time) index."""
    first = lo[:10] if lo[10:] == DAY_START else _next_day(lo[:10])
    last = hi[:10]  # the days before this one end at or before `hi`
    if first >= last:
        return _counted_rows(store, dealership_id, lo, hi)
    whole = [
        (status, advisor or None, department or None, int(n))
        for status, advisor, department, n in store.query(
            "SELECT status, advisor_id, department, SUM(n) FROM followup_days"
            " WHERE dealership_id = ? AND day >= ? AND day < ? AND status <> 'skipped'"
            " GROUP BY status, advisor_id, department",
            (dealership_id, first, last),
        )
    ]
    return (
        _counted_rows(store, dealership_id, lo, first + DAY_START)
        + whole
        + _counted_rows(store, dealership_id, last + DAY_START, hi)
    )


DAY_START = "T00:00:00.000000Z"


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _counted_rows(
    store: ReadStore, dealership_id: str, lo: str, hi: str
) -> list[tuple[str, str | None, str | None, int]]:
    if lo >= hi:
        return []
    return [
        (status, advisor, department, int(n))
        for status, advisor, department, n in store.query(
            "SELECT status, advisor_id, department, COUNT(*) FROM followups"
            " WHERE dealership_id = ? AND due_at >= ? AND due_at < ? AND status <> 'skipped'"
            " GROUP BY status, advisor_id, department",
            (dealership_id, lo, hi),
        )
    ]
