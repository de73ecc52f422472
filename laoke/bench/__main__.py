"""`python -m laoke.bench` (and `make bench`): the command line of laoke/bench."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import laoke.bench
from laoke.bench.check import check
from laoke.bench.report import markdown
from laoke.bench.runs import intake_scaling, read_api_only, read_path, run
from laoke.bench.sealing import encryption_costs


def main() -> None:
    description = (laoke.bench.__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="laoke bench", description=description)
    parser.add_argument("--raw", type=int, default=50_000, help="messages for (a)")
    parser.add_argument("--events", type=int, default=30_000, help="inbound burst for (b)")
    parser.add_argument("--paced-seconds", type=int, default=15, help="duration of (c)")
    parser.add_argument("--sim-customers", type=int, default=6000, help="simulated customers")
    parser.add_argument("--customers", type=int, default=100_000, help="customers for (e)")
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the services' store; postgres: a fresh database on LAOKE_POSTGRES_DSN's server",
    )
    parser.add_argument("--write", type=Path, help="append the results to this Markdown file")
    parser.add_argument(
        "--intake-partitions",
        type=int,
        default=0,
        help="only (a) and (b), with this many intake processes (LAOKE_PARTITIONS)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit non-zero when a figure misses its floor (docs/benchmarks.md, Floors)",
    )
    parser.add_argument(
        "--encryption",
        action="store_true",
        help="only (b) and (d), with encryption off and on (laoke/bench/sealing.py)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --encryption")
    parser.add_argument(
        "--read-api",
        action="store_true",
        help="only (e), the read API at --customers customers (projections alone)",
    )
    parser.add_argument(
        "--read-path",
        action="store_true",
        help="only (a)-(c), with intake and projections alone (the deciding services elsewhere)",
    )
    parser.add_argument(
        "--no-rebuild",
        dest="rebuild",
        action="store_false",
        help="leave out (d), the rebuild (at 1M customers on PostgreSQL it adds ~30 min)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the run's temp dir (its NATS store and master key) for "
        "`python -m laoke.bench.replay`",
    )
    args = parser.parse_args()
    if args.encryption:
        results = asyncio.run(encryption_costs(args))
    elif args.read_api:
        results = asyncio.run(read_api_only(args))
    elif args.read_path:
        results = asyncio.run(read_path(args))
    else:
        results = asyncio.run(intake_scaling(args) if args.intake_partitions else run(args))
    if args.write:
        with args.write.open("a") as out:
            out.write("\n" + markdown(results))
    if args.check and check(results.raw):
        sys.exit(1)


if __name__ == "__main__":
    main()
