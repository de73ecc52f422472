"""`python -m laoke.bench --check` (laoke/bench/check.py): every limit it applies is the
one docs/benchmarks.md documents, and a figure past its limit is reported as missed. No
rate is measured here."""

from __future__ import annotations

import re
from pathlib import Path

from laoke.bench.check import LIMITS, check

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
PASSING = {
    "raw": 20_000.0,
    "intake": 2_000.0,
    "catch_up": 2_000.0,
    "rebuild": 10_000.0,
    "raw_read": 30_000.0,
    "backlog": 0,
    "lag_p99": 0.2,
    "api_work_list_page_2_p99": 10.0,
}


def documented() -> dict[str, str]:
    """The "Floors" table of docs/benchmarks.md: figure → its limit as written."""
    text = DOC.read_text().split("## Floors", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| ([≥≤] [0-9.]+) \|", text, re.M)
    return dict(rows)


def test_every_limit_is_the_documented_one() -> None:
    written = {limit.name: f"{'≥' if limit.at_least else '≤'} {limit.bound:g}" for limit in LIMITS}
    assert documented() == written


def test_a_run_within_its_limits_passes() -> None:
    assert check(PASSING) == []


def test_a_figure_past_its_limit_is_missed() -> None:
    slow_rebuild = PASSING | {"rebuild": 1_000.0}  # 3% of the raw read
    assert check(slow_rebuild) == ["rebuild ÷ raw ordered read"]
    lagging = PASSING | {"lag_p99": 0.6, "backlog": 12}
    assert check(lagging) == ["others' backlog after 30 s", "projection lag p99 (s)"]


def test_a_figure_not_measured_is_not_missed() -> None:
    assert check({"raw": 20_000.0, "intake": 2_000.0}) == []
