"""What sealing personal fields costs: intake end to end (b) and the rebuild (d), with
encryption on and off, in one run (`python -m laoke.bench --encryption`).

Each setting runs in a fresh rig on the same simulated events, off then on, `--rounds`
times. Two measures of each: the rate (events/s, wall clock: the best round is kept) and
the CPU time laoke spent per event (intake's process; the rebuild's, in this process).
On a shared machine the wall clock follows the other load; the CPU time much less, so it
is the figure to compare: each setting's median over the rounds, and the cost of sealing
as the median of each round's on ÷ off (a round's two runs share that moment's machine; the
least of the rounds, used before, let one lucky run of either setting decide).
The rebuild reads what intake recorded.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from laoke.bench.load import Item, inbound
from laoke.bench.measures import has_consumer, messages, recorded_rate, wait_until
from laoke.bench.processes import rig
from laoke.bench.report import Results
from laoke.bench.stores import StoreKind
from laoke.sim.config import SimConfig
from laoke.sim.generator import simulate

Setting = Literal["off", "on"]


async def encryption_costs(args: argparse.Namespace) -> Results:
    results = Results()
    sim = simulate(
        SimConfig(dealerships=1, customers=args.sim_customers, months=12, seed=11),
        now=datetime.now(UTC),
    )
    burst = inbound(sim)[: args.events]
    load_before = os.getloadavg()
    best: dict[tuple[str, Setting], float] = {}
    cpu: dict[tuple[str, Setting], list[float]] = {}
    for _ in range(args.rounds):
        for setting in ("off", "on"):
            measured = await _measure(burst, setting, args.store)
            print(
                f"encryption {setting}: " + ", ".join(f"{k} {v:,.1f}" for k, v in measured.items())
            )
            for what in ("intake", "rebuild"):
                rate, ms = measured[f"{what}/s"], measured[f"{what} cpu ms/1k"]
                best[(what, setting)] = max(best.get((what, setting), 0.0), rate)
                cpu.setdefault((what, setting), []).append(ms)
    for what, label in (("intake", "(b) intake end to end"), ("rebuild", "(d) rebuild")):
        off, on = best[(what, "off")], best[(what, "on")]
        results.add(
            f"{label} ({len(burst):,} events), encryption off / on",
            f"{off:,.0f} / {on:,.0f} events/s (wall clock: on {on / off - 1:+.0%})",
            **{f"{what}_off": off, f"{what}_on": on},
        )
        offs, ons = cpu[(what, "off")], cpu[(what, "on")]
        off, on = statistics.median(offs), statistics.median(ons)
        cost = statistics.median(b / a for a, b in zip(offs, ons, strict=True)) - 1
        results.add(
            "    its CPU time per 1,000 events, off / on (medians)",
            f"{off:,.0f} / {on:,.0f} ms: on costs {cost:+.0%} (median of the rounds' on ÷ off)",
            **{f"{what}_cpu_off": off, f"{what}_cpu_on": on, f"{what}_cpu_cost": cost},
        )
    results.raw |= {"rounds": args.rounds, "load_before": load_before}
    results.raw["cpu_ms_per_1k_by_round"] = {f"{w}_{s}": v for (w, s), v in cpu.items()}
    results.raw["load_after"] = os.getloadavg()
    return results


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(burst: list[Item], setting: Setting, store: StoreKind) -> dict[str, float]:
    """Intake's rate and CPU time on `burst`, then the rebuild's over what it recorded, in
    a fresh rig."""
    from services.projections.rebuild import rebuild_async

    key = base64.b64encode(secrets.token_bytes(32)).decode()
    env = {"LAOKE_MASTER_KEY": key, "LAOKE_ENCRYPTION": setting}
    async with rig(Results(), env, store) as r:
        r.processes.start("intake")
        await wait_until(lambda: has_consumer(r.js, "DEALER_IN", "intake"), 60)
        pid = r.processes.running["intake"].pid
        before = _cpu_s(pid)
        intake = await recorded_rate(r.js, burst)
        intake_cpu = _cpu_s(pid) - before
        r.processes.stop_all()
        total = await messages(r.js, "RETENTION")
        settings = r.store.settings(r.server.url, master_key=key, encryption=setting)
        started, cpu_before = time.perf_counter(), time.process_time()
        await rebuild_async(settings, swap=False, progress=None)
        rebuild_cpu = time.process_time() - cpu_before
        return {
            "intake/s": intake,
            "intake cpu ms/1k": intake_cpu * 1e6 / len(burst),
            "rebuild/s": total / (time.perf_counter() - started),
            "rebuild cpu ms/1k": rebuild_cpu * 1e6 / total,
        }
