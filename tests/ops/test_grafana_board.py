"""The Grafana board compose provisions (docker/grafana/dashboards/laoke.json) plots only
metrics a running laoke serves on /metrics, and has the panels the operators asked for."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from laoke.settings import LaokeSettings

BOARD = Path(__file__).resolve().parents[2] / "docker" / "grafana" / "dashboards" / "laoke.json"
# What a family's samples are called, by its type (the text format's suffixes).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
}


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(BOARD.read_text())["panels"]
    return found


def metrics_of(panel: dict[str, Any]) -> set[str]:
    return {
        name for target in panel["targets"] for name in re.findall(r"\blaoke_\w+", target["expr"])
    }


def served(text: str) -> set[str]:
    """Every series name /metrics can carry, its families' with or without samples yet."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ())}
        names |= {sample.name for sample in family.samples}
    return names


def test_the_board_has_a_panel_for_each_figure_asked_for() -> None:
    wanted = {
        "Intake rate": "laoke_events_accepted_total",
        "Dead letters by reason": "laoke_dead_letters_total",
        "Consumer lag per service": "laoke_consumer_lag",
        "API latency": "laoke_http_request_seconds_bucket",
        "Open and escalated complaints": "laoke_complaints_escalated",
        "Follow-ups due": "laoke_followups_due",
    }
    by_title = {p["title"]: p for p in panels()}
    for title, metric in wanted.items():
        [panel] = [p for t, p in by_title.items() if t.startswith(title)]
        assert metric in metrics_of(panel), title


async def test_every_panels_metric_is_on_the_metrics_of_a_running_laoke(
    laoke_running: LaokeSettings,
) -> None:
    base = f"http://127.0.0.1:{laoke_running.http_port}"
    async with httpx.AsyncClient(base_url=base) as client:
        await client.get("/healthz")  # one answered request, timed
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    names = served(answer.text)
    assert "laoke_http_request_seconds_bucket" in {
        s.name for f in text_string_to_metric_families(answer.text) for s in f.samples
    }
    for panel in panels():
        used = metrics_of(panel)
        assert used, f"panel {panel['title']!r} plots no laoke metric"
        assert used <= names, f"panel {panel['title']!r}: not on /metrics: {used - names}"
