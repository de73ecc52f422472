"""Rebuild the read models from RETENTION: `python -m services.projections.rebuild`.

Replays the stream from sequence 1 into a fresh store (`projections_rebuild.sqlite3`, or
the PostgreSQL schema `projections_rebuild`) with a progress bar on stderr, then swaps it
in for the live one, with every partition's position at its end. Stop the projections
service (every replica) first: the swap replaces its store.
A process of its own reads the stream (rebuildreader.py) while this one applies.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import TextIO

from laoke.keyring import Keyring
from laoke.partitions import Partition
from laoke.sealing import load_for
from laoke.service import connect
from laoke.settings import LaokeSettings
from laoke.threads import in_thread
from services.projections.application import CONSUMER, Projections
from services.projections.rebuildreader import StreamReader
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore, drop, swap_in
from services.projections.tables import TABLES

FRESH = "projections_rebuild"
# Messages applied per transaction (in chunks: application.py): a commit writes back every
# page its rows touched, so 20,000 at a time cost a fifth less CPU than the reader's 2,000.
GROUP = 20_000


class Progress:
    """A plain-text progress bar, redrawn at most ten times a second."""

    def __init__(self, total: int, out: TextIO | None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.out = out
        self.width = width
        self.started = time.monotonic()
        self.shown = 0.0

    def update(self, done: int, last: bool = False) -> None:
        now = time.monotonic()
        if self.out is None or (not last and now - self.shown < 0.1):
            return
        self.shown = now
        share = min(done / self.total, 1.0)
        filled = int(share * self.width)
        speed = done / max(now - self.started, 1e-6)
        bar = "#" * filled + "." * (self.width - filled)
        self.out.write(f"\rrebuild [{bar}] {done}/{self.total} {share:4.0%} {speed:,.0f} msg/s")
        if last:
            self.out.write("\n")
        self.out.flush()


async def rebuild_async(
    settings: LaokeSettings,
    projection_settings: ProjectionSettings | None = None,
    *,
    swap: bool = True,
    progress: TextIO | None = sys.stderr,
    batch: int = 2000,
    group: int = GROUP,
) -> dict[str, int]:
    """Replay RETENTION into a fresh store, then (with `swap`) make it the live one."""
    drop(settings, FRESH)
    projection_settings = projection_settings or ProjectionSettings()
    # SQLite: the read API's indexes are created once the rows are in, below (a tenth
    # faster). PostgreSQL keeps them up as it goes: creating them at the end measured a
    # tenth slower there (docs/benchmarks.md, 2026-12-04).
    store = ReadStore(
        settings,
        name=FRESH,
        schema=FRESH,
        classes=projection_settings.classes,
        api_indexes=settings.store != "sqlite",
    )
    store.unsynced()  # made durable when closed, before the swap
    keyring = Keyring.of(settings)
    projections = Projections(store, projection_settings, keyring=keyring)
    nc, js = await connect(settings, "laoke-projections-rebuild")  # for the keys
    applied = failures = 0
    try:
        await keyring.start(js, settings.stream_replicas)
        await keyring.load_all()
        with StreamReader(settings, batch, ahead=group // batch + 2) as reader:
            bar = Progress(reader.last, progress)
            for items in reader.grouped(group):
                await load_for(keyring, items)
                failures += len(await in_thread(projections.apply_batch, items))
                applied += len(items)
                bar.update(items[-1].seq)
        reached = store.position(projections.consumer)
        bar.update(reached, last=True)
        with store.transaction() as tx:  # every partition's consumer goes on from here
            for index in range(settings.partitions):
                tx.set_position(Partition(index, settings.partitions).durable(CONSUMER), reached)
        store.create_api_indexes()
        counts = {t: int(store.query(f"SELECT COUNT(*) FROM {t}")[0][0]) for t in TABLES}
    finally:
        await nc.close()
        store.close()
    if swap:
        swap_in(settings, FRESH)
    return {"events": applied, "failed": failures, **counts}


def rebuild(
    settings: LaokeSettings,
    projection_settings: ProjectionSettings | None = None,
    *,
    swap: bool = True,
    progress: TextIO | None = sys.stderr,
) -> dict[str, int]:
    """The same, synchronously (its own event loop)."""
    return asyncio.run(rebuild_async(settings, projection_settings, swap=swap, progress=progress))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-swap", action="store_true", help="Build, but keep the live store.")
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    args = parser.parse_args(argv)
    counts = rebuild(
        LaokeSettings(), swap=not args.no_swap, progress=None if args.quiet else sys.stderr
    )
    for table, count in counts.items():
        print(f"{table}: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
