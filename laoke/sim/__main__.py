"""`python -m laoke.sim` (or `laoke sim`): generate a dealership group; write or publish it.

python -m laoke.sim --dealerships 1 --customers 500 --months 12 --seed 7 --out events.ndjson
python -m laoke.sim --customers 500 --publish nats://127.0.0.1:4222
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from laoke.sim.config import SimConfig
from laoke.sim.generator import Simulation, simulate
from laoke.sim.publish import publish, write_file


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset")
    return moment


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="laoke sim", description="the dealership simulator")
    cli.add_argument("--dealerships", type=int, default=1)
    cli.add_argument("--customers", type=int, default=500, help="customers per dealership")
    cli.add_argument("--months", type=int, default=12)
    cli.add_argument("--seed", type=int, default=7)
    cli.add_argument("--start", type=_when, help="first day of the window (default 2026-01-01)")
    cli.add_argument(
        "--now", type=_when, help="the window ends before this (default: the wall clock)"
    )
    cli.add_argument("--out", type=Path, help="write NDJSON here, one event a line")
    cli.add_argument("--truth", type=Path, help="write the Truth summary (JSON) here")
    cli.add_argument("--publish", metavar="NATS_URL", help="publish to dealer.in.<d>.<Type>")
    cli.add_argument("--window", type=int, default=2000, help="publish acks outstanding")
    return cli


async def _publish(url: str, simulation: Simulation, window: int) -> None:
    import nats
    from nats.js.errors import NotFoundError

    from laoke.streams import DEALER_IN, ensure_streams

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            await js.stream_info(DEALER_IN)
        except NotFoundError:  # a bare server: create laoke's streams with their defaults
            await ensure_streams(js)

        def progress(n: int, seconds: float) -> None:
            rate = n / seconds if seconds > 0 else 0.0
            print(f"published {n} events in {seconds:.1f} s ({rate:,.0f}/s)", flush=True)

        await publish(js, simulation.events, window=window, progress=progress)
    finally:
        await nc.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    config = SimConfig(
        dealerships=args.dealerships,
        customers=args.customers,
        months=args.months,
        seed=args.seed,
        start=args.start,
    )
    began = time.perf_counter()
    simulation = simulate(config, now=args.now or datetime.now(UTC))
    seconds = time.perf_counter() - began
    n = len(simulation.events)
    print(
        f"simulated {simulation.truth.customers} customers, {n} events "
        f"({simulation.start.date()} to {simulation.end.date()}) in {seconds:.1f} s "
        f"({n / max(seconds, 1e-9):,.0f} events/s)",
        flush=True,
    )
    rates = ", ".join(
        f"{group} {truth.repurchasers}/{truth.customers}"
        for group, truth in simulation.truth.groups.items()
    )
    print(f"repurchase by outcome: {rates}", flush=True)
    if args.out is not None:
        write_file(args.out, simulation.events)
        print(f"wrote {args.out}", flush=True)
    if args.truth is not None:
        summary = simulation.truth.summary()
        args.truth.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        print(f"wrote {args.truth}", flush=True)
    if args.publish:
        asyncio.run(_publish(args.publish, simulation, args.window))


if __name__ == "__main__":
    main()
