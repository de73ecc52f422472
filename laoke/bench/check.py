"""`python -m laoke.bench --check`: a run's figures against the floors of
docs/benchmarks.md ("Floors"), for an operator to see whether a machine, a store or a
change made laoke slower than it should be. Not a test: rates are never asserted in tests,
the machine a run shares decides too much of them. Ratios to raw NATS in the same run are
the figures that travel between machines; the others are the product's own targets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Raw = Mapping[str, Any]


@dataclass(frozen=True)
class Limit:
    """A figure of a run and the worst it may be."""

    name: str  # the row of docs/benchmarks.md's "Floors" table
    figure: Callable[[Raw], float | None]  # None: the run did not measure it
    bound: float
    at_least: bool = True  # a floor; False: a ceiling

    def passed(self, raw: Raw) -> bool | None:
        value = self.figure(raw)
        if value is None:
            return None
        return value >= self.bound if self.at_least else value <= self.bound


def _ratio(numerator: str, denominator: str) -> Callable[[Raw], float | None]:
    def figure(raw: Raw) -> float | None:
        if raw.get(numerator) is None or not raw.get(denominator):
            return None
        return float(raw[numerator]) / float(raw[denominator])

    return figure


def _value(key: str) -> Callable[[Raw], float | None]:
    return lambda raw: None if raw.get(key) is None else float(raw[key])


LIMITS = (
    Limit("intake ÷ raw publish", _ratio("intake", "raw"), 0.03),
    Limit("projections catch-up ÷ intake", _ratio("catch_up", "intake"), 0.5),
    Limit("rebuild ÷ raw ordered read", _ratio("rebuild", "raw_read"), 0.1),
    Limit("others' backlog after 30 s", _value("backlog"), 0, at_least=False),
    Limit("projection lag p99 (s)", _value("lag_p99"), 0.25, at_least=False),
    Limit("work list page 2 p99 (ms)", _value("api_work_list_page_2_p99"), 20, at_least=False),
    Limit("metrics by advisor p99 (ms)", _value("api_metrics_by_advisor_p99"), 20, at_least=False),
    Limit("classes p99 (ms)", _value("api_classes_p99"), 20, at_least=False),
)


def check(raw: Raw) -> list[str]:
    """Print each limit with the run's figure; the names of those missed."""
    missed = []
    for limit in LIMITS:
        value = limit.figure(raw)
        passed = limit.passed(raw)
        sign = "≥" if limit.at_least else "≤"
        shown = "not measured" if value is None else f"{value:,.3g}"
        verdict = {True: "ok", False: "MISSED", None: "-"}[passed]
        print(f"{limit.name:<34} {shown:>14}  {sign} {limit.bound:<8g} {verdict}")
        if passed is False:
            missed.append(limit.name)
    return missed
