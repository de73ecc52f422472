"""The results of a run: printed as they come, and as Markdown for docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Results:
    lines: list[tuple[str, str]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, label: str, value: str, **raw: Any) -> None:
        self.lines.append((label, value))
        self.raw |= raw
        print(f"{label:<58} {value}", flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def markdown(results: Results) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    before, after = results.raw.get("load_before"), results.raw.get("load_after")
    if before and after:  # the machine is shared: say how busy it was
        machine += f"; load average {before[0]:.1f} at start, {after[0]:.1f} at end"
    rows = "\n".join(f"| {label.strip()} | {value} |" for label, value in results.lines)
    command = "python -m laoke.bench " + " ".join(sys.argv[1:])
    return (
        f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"Machine: {machine}. Command: `{command}`.\n\n"
        f"| measure | result |\n| --- | --- |\n{rows}\n\n"
        f"<details><summary>raw</summary>\n\n```json\n{json.dumps(results.raw, indent=1)}\n```\n"
        "</details>\n"
    )
