"""`laoke verify`: check the running system against its own history, RETENTION.

1. Rebuild the read models from RETENTION into the scratch store (`projections_rebuild`,
   as `laoke rebuild --no-swap` does; the live store is left unchanged) and compare every table
   with the live store, once the live store has applied exactly as much of RETENTION.
2. Check that every decision's cause is on RETENTION: each recorded event that is not an
   inbound fact names in `causation_id` the `event_id` of an event on the stream.

Exits 0 only when both find nothing. Meant for a quiet system: a live store still consuming
is waited for (`--wait`); one that moves past the rebuilt position cannot be compared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from nats.js import JetStreamContext

from events import INBOUND_TYPES
from laoke.durable import stream_sequence
from laoke.partitions import Partition
from laoke.service import connect
from laoke.settings import LaokeSettings
from laoke.threads import in_thread
from services.projections.application import CONSUMER
from services.projections.compare import TableDiff, compare_stores, describe
from services.projections.reader import read_stream
from services.projections.rebuild import FRESH, rebuild_async
from services.projections.store import ReadStore, drop

POLL_S = 0.2
ORPHANS_SHOWN = 10  # orphans listed one by one; the rest are counted


@dataclass(frozen=True)
class Orphan:
    """A decision whose cause is not on RETENTION."""

    seq: int
    event_type: str
    event_id: str
    causation_id: str | None

    def line(self) -> str:
        return (
            f"  seq {self.seq} {self.event_type} event_id={self.event_id}"
            f" causation_id={self.causation_id}"
        )


def live_positions(settings: LaokeSettings, live: ReadStore) -> list[int]:
    """Every partition's consumer position in the live store."""
    count = settings.partitions
    return [live.position(Partition(i, count).durable(CONSUMER)) for i in range(count)]


async def compare_when_level(
    settings: LaokeSettings, live: ReadStore, rebuilt: ReadStore, history: int, wait: float
) -> list[TableDiff] | int:
    """The tables that differ, once every live position equals `history` (the rebuilt
    position); otherwise the live position that kept them from being comparable.

    Every write to the live store moves a position in the same transaction, so positions
    equal before and after the dump mean the dump saw one consistent state."""
    deadline = time.monotonic() + wait
    while True:
        before = live_positions(settings, live)
        if max(before) > history:  # it applied more than was rebuilt: never comparable
            return max(before)
        if min(before) == history:
            differing = await in_thread(compare_stores, live, rebuilt)
            after = live_positions(settings, live)
            return differing if after == before else max(after)
        if time.monotonic() >= deadline:
            return min(before)
        await asyncio.sleep(POLL_S)


async def orphan_decisions(js: JetStreamContext) -> list[Orphan]:
    """Read RETENTION once: the decisions whose cause is not on it.

    A cause normally precedes its decision, so only the decisions whose cause has not been
    seen yet are kept until the end, not every decision of a long history."""
    seen: set[str] = set()
    pending: list[Orphan] = []
    async for messages in read_stream(js, batch=2000):
        for message in messages:
            try:
                body = json.loads(message.data)
            except (ValueError, RecursionError):  # no event: the `failures` table holds it
                continue
            if not isinstance(body, dict):
                continue
            event_id = str(body.get("event_id"))
            seen.add(event_id)
            event_type = str(body.get("event_type"))
            cause = body.get("causation_id")
            if event_type not in INBOUND_TYPES and (cause is None or str(cause) not in seen):
                seq = stream_sequence(message)
                pending.append(
                    Orphan(seq, event_type, event_id, None if cause is None else str(cause))
                )
    return [o for o in pending if o.causation_id is None or o.causation_id not in seen]


async def verify_async(
    settings: LaokeSettings,
    *,
    wait: float = 30.0,
    out: TextIO | None = None,
    progress: TextIO | None = None,
) -> int:
    """Run both checks, print what differs and a summary; 0 when nothing does, else 1."""
    out = out or sys.stdout
    counts = await rebuild_async(settings, swap=False, progress=progress)
    live, rebuilt = ReadStore(settings), ReadStore(settings, name=FRESH, schema=FRESH)
    try:  # the rebuild set every partition's position to where it stopped reading
        history = rebuilt.position(Partition(0, settings.partitions).durable(CONSUMER))
        compared = await compare_when_level(settings, live, rebuilt, history, wait)
    finally:
        live.close()
        rebuilt.close()

    nc, js = await connect(settings, "laoke-verify")
    try:
        orphans = await orphan_decisions(js)
    finally:
        await nc.close()

    problems: list[str] = []
    if isinstance(compared, int):
        problems.append(
            f"live store at {compared}, history at {history}: not comparable, re-run when quiet"
        )
    elif compared:
        print(describe(compared), file=out)
        problems.append(f"read models differ ({', '.join(d.table for d in compared)})")
    if orphans:
        print(f"decisions whose cause is not on RETENTION ({len(orphans)}):", file=out)
        for orphan in orphans[:ORPHANS_SHOWN]:
            print(orphan.line(), file=out)
        if len(orphans) > ORPHANS_SHOWN:
            print(f"  ... and {len(orphans) - ORPHANS_SHOWN} more", file=out)
        problems.append(f"decisions without their cause on RETENTION: {len(orphans)}")

    if problems:
        print(f"verify: {counts['events']} events; " + "; ".join(problems), file=out)
        kept = settings.sqlite_path(FRESH) if settings.store == "sqlite" else f"schema {FRESH}"
        print(f"verify: the rebuilt read models are kept in {kept} for inspection", file=out)
        return 1
    drop(settings, FRESH)  # equal: the scratch copy has served
    print(
        f"verify: {counts['events']} events, read models equal, every decision's cause found",
        file=out,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="laoke verify", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="How long to wait for the live store to reach the rebuilt position (30).",
    )
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    args = parser.parse_args(argv)
    progress = None if args.quiet else sys.stderr
    return asyncio.run(verify_async(LaokeSettings(), wait=args.wait, progress=progress))


if __name__ == "__main__":
    raise SystemExit(main())
