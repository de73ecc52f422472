"""Intake's recording alone, in process: CPU per inbound event.

    .venv/bin/python scripts/bench_intake.py [--customers 2000] [--batch 200] [--rounds 3]
                                              [--profile tottime]

No NATS and no relay: the simulator's inbound events (one dealership, 12 months, seed 11,
each on its DEALER_IN subject, as the bench's (b) publishes them) are recorded by
`Intake.record_batch` on a fresh SQLite store in a temp dir, in batches of `--batch` (the
runner's), with a parked clock. The best round's CPU time of this process is printed (on a
shared machine it moves much less than the wall clock); `--profile` prints cProfile's top
functions of one more round, sorted by that key.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from eventsourcing.persistence import Tracking

from laoke.bench.load import inbound
from laoke.clock import ManualClock
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.sim.config import SimConfig
from laoke.sim.generator import simulate
from services.intake.application import Inbound, Intake
from services.intake.settings import IntakeSettings

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def record_all(messages: list[Inbound], batch: int, profile: cProfile.Profile | None) -> float:
    """CPU seconds to record `messages` in batches on a fresh store."""
    with tempfile.TemporaryDirectory() as data_dir:
        app = ServiceApplication(LaokeSettings(data_dir=Path(data_dir)), "intake")
        intake = Intake(app, IntakeSettings(), ManualClock(NOW), b"identity secret")
        started = time.process_time()
        if profile is not None:
            profile.enable()
        for start in range(0, len(messages), batch):
            intake.record_batch(messages[start : start + batch], Tracking("DEALER_IN", start))
        if profile is not None:
            profile.disable()
        cpu = time.process_time() - started
        app.close()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench_intake.py")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="a pstats sort key (tottime, cumulative)")
    args = parser.parse_args()
    simulation = simulate(SimConfig(dealerships=1, customers=args.customers, seed=11), now=NOW)
    messages = [
        Inbound(body, subject, headers, origin=f"bench-{index}")
        for index, (subject, body, headers) in enumerate(inbound(simulation))
    ]
    best = min(record_all(messages, args.batch, None) for _ in range(args.rounds))
    print(
        f"{len(messages):,} inbound events: {1e6 * best / len(messages):.0f} µs of CPU an event"
        f" ({len(messages) / best:,.0f} per CPU-second)"
    )
    if args.profile:
        profile = cProfile.Profile()
        record_all(messages, args.batch, profile)
        pstats.Stats(profile).sort_stats(args.profile).print_stats(30)


if __name__ == "__main__":
    main()
