"""The rebuild's apply alone, in process: CPU seconds per 100,000 recorded events.

    .venv/bin/python scripts/bench_apply.py sim light --rounds 3 [--batch 20000] [--profile F]

No NATS and no reader: a fixed stream is applied by `Projections.apply_batch` to a fresh
SQLite store in a temp dir, in batches of `--batch` (the rebuild's transaction), and the
process's CPU time is measured (on a shared machine it moves much less than the wall
clock). Two streams, made once and kept in `--cache`:

- `sim`: the simulator's 5,000 customers over 12 months (seed 11), recorded as intake and
  complaints record them (tests/sim/recorded.py) and sealed as the outbox seals them
  (the keys in memory): 56,859 events, 84 % with a sealed box;
- `light`: the benchmark's 10,000 light customers (laoke/bench/load.py): 30,000 events,
  not sealed, as (e) publishes them.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pickle
import pstats
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.sim.recorded

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from events import retention_subject, to_json  # noqa: E402
from laoke.bench.load import light_customers  # noqa: E402
from laoke.keyring import Keyring  # noqa: E402
from laoke.publishing import Outgoing  # noqa: E402
from laoke.sealing import seal_all  # noqa: E402
from laoke.settings import LaokeSettings  # noqa: E402
from laoke.sim.config import SimConfig  # noqa: E402
from laoke.sim.generator import simulate  # noqa: E402
from services.complaints.settings import ComplaintSettings  # noqa: E402
from services.projections.application import Message, Projections  # noqa: E402
from services.projections.settings import ProjectionSettings  # noqa: E402
from services.projections.store import ReadStore  # noqa: E402
from tests.sim.recorded import recorded  # noqa: E402

NOW = datetime(2026, 12, 1, tzinfo=UTC)
MASTER = b"\x01" * 32


def make_streams() -> dict[str, Any]:
    simulation = simulate(SimConfig(customers=5000, months=12, seed=11), now=NOW)
    events = recorded(simulation, ComplaintSettings())
    keys = {e.customer_id: AESGCM.generate_key(256) for e in events if e.customer_id}
    keyring = Keyring(MASTER)
    keyring.keys = dict(keys)
    outgoing = [
        Outgoing(retention_subject(e.dealership_id, e.customer_id or "", e.event_type), to_json(e))
        for e in events
    ]
    sealed = asyncio.run(seal_all(keyring, outgoing))
    light = light_customers(10_000, NOW)
    return {
        "keys": keys,
        "sim": [(n, m.body, m.subject) for n, m in enumerate(sealed, start=1)],
        "light": [(n, body, subject) for n, (subject, body, _) in enumerate(light, start=1)],
    }


def measure(stream: list[tuple[int, bytes, str]], keys: dict[str, bytes], batch: int,
            profile: str | None) -> float:  # fmt: skip
    """CPU seconds of applying `stream` to a fresh store."""
    messages = [Message(seq, data, subject) for seq, data, subject in stream]
    with tempfile.TemporaryDirectory() as tmp:
        settings = ProjectionSettings()
        store = ReadStore(LaokeSettings(data_dir=Path(tmp)), classes=settings.classes)
        keyring = Keyring(MASTER)
        keyring.keys = dict(keys)
        projections = Projections(store, settings, keyring=keyring)
        profiler = cProfile.Profile(time.process_time) if profile else None
        started = time.process_time()
        if profiler:
            profiler.enable()
        for start in range(0, len(messages), batch):
            assert not projections.apply_batch(messages[start : start + batch])
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        spent = time.process_time() - started
        store.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("streams", nargs="+", choices=["sim", "light"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--batch", type=int, default=20_000, help="messages per transaction")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "apply.pkl")
    parser.add_argument("--profile", help="write a cProfile (CPU time) of the last run here")
    args = parser.parse_args()
    if not args.cache.exists():
        args.cache.write_bytes(pickle.dumps(make_streams()))
    streams = pickle.loads(args.cache.read_bytes())
    for _ in range(args.rounds):
        for name in args.streams:
            stream = streams[name]
            spent = measure(stream, streams["keys"], args.batch, args.profile)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            print(f"{name}: {len(stream):,} events, batch {args.batch:,}: {spent:.2f} CPU s ="
                  f" {spent / len(stream) * 1e5:.2f} CPU s per 100k events"
                  f" ({len(stream) / spent:,.0f} events per CPU-second), peak RSS {rss} MB",
                  flush=True)  # fmt: skip
    if args.profile:
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
