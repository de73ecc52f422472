"""What sealing personal fields costs: intake end to end (b) and the rebuild (d), with
encryption on and off, in one run (`python -m laoke.bench --encryption`).

Each setting runs in a fresh rig on the same simulated events, off then on, `--rounds`
times; the best of each setting is kept and compared (the machine is shared: the load
average is reported with the results). The rebuild reads what intake recorded.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import time
from datetime import UTC, datetime
from typing import Literal

from laoke.bench.load import Item, inbound
from laoke.bench.measures import has_consumer, messages, recorded_rate, wait_until
from laoke.bench.processes import rig
from laoke.bench.report import Results
from laoke.settings import LaokeSettings
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
    for _ in range(args.rounds):
        for setting in ("off", "on"):
            intake, rebuild = await _measure(burst, setting)
            print(f"encryption {setting}: intake {intake:,.0f}/s, rebuild {rebuild:,.0f}/s")
            for what, rate in (("intake", intake), ("rebuild", rebuild)):
                best[(what, setting)] = max(best.get((what, setting), 0.0), rate)
    for what, label in (("intake", "(b) intake end to end"), ("rebuild", "(d) rebuild")):
        off, on = best[(what, "off")], best[(what, "on")]
        results.add(
            f"{label} ({len(burst):,} events), encryption off / on",
            f"{off:,.0f} / {on:,.0f} events/s: on costs {1 - on / off:.0%}",
            **{f"{what}_off": off, f"{what}_on": on},
        )
    results.raw |= {"rounds": args.rounds, "load_before": load_before}
    results.raw["load_after"] = os.getloadavg()
    return results


async def _measure(burst: list[Item], setting: Setting) -> tuple[float, float]:
    """Intake's rate on `burst`, then the rebuild's over what it recorded, in a fresh rig."""
    from services.projections.rebuild import rebuild_async

    key = base64.b64encode(secrets.token_bytes(32)).decode()
    env = {"LAOKE_MASTER_KEY": key, "LAOKE_ENCRYPTION": setting}
    async with rig(Results(), env) as r:
        r.processes.start("intake")
        await wait_until(lambda: has_consumer(r.js, "DEALER_IN", "intake"), 60)
        intake = await recorded_rate(r.js, burst)
        r.processes.stop_all()
        total = await messages(r.js, "RETENTION")
        settings = LaokeSettings(
            data_dir=r.tmp / "data", nats_url=r.server.url, master_key=key, encryption=setting
        )
        started = time.perf_counter()
        await rebuild_async(settings, swap=False, progress=None)
        return intake, total / (time.perf_counter() - started)
