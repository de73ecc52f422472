"""One deciding service's handling alone, in this process: what it stores and its CPU.

    python -m laoke.bench.handling [--service outreach] [--customers 2000] [--run 200]

Feeds the bench's light customers (load.py: a registration, a purchase and a follow-up
each) to the service's RETENTION consumer in runs of `--run` messages, as the runner hands
them over, on a SQLite store in a temporary directory, with the clock parked at `--now`
(so two checkouts decide on the same input). Prints the events stored per customer by
topic (outbox entries included) and the messages handled per CPU-second of this process:
CPU, not wall time, because the machine is shared. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import contextvars
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from nats.aio.msg import Msg

from laoke.bench.load import Item, light_customers
from laoke.clock import ManualClock
from laoke.registry import SERVICES
from laoke.settings import LaokeSettings


def messages(durable: str, customers: int, now: datetime) -> list[Msg]:
    """The light customers' messages as the durable consumer delivers them (stream order)."""
    return delivered(durable, light_customers(customers, now))


def delivered(durable: str, items: Iterable[Item]) -> list[Msg]:
    """`(subject, body, headers)` as RETENTION's durable consumer `durable` delivers them,
    from stream position 1 on (the ack subject carries the position)."""
    return [
        Msg(
            None,  # type: ignore[arg-type]  # never acked here
            subject=subject,
            reply=f"$JS.ACK.RETENTION.{durable}.1.{position}.{position}.0.0",
            data=body,
            headers=headers,
        )
        for position, (subject, body, headers) in enumerate(items, start=1)
    ]


def stored(db: Path) -> Counter[str]:
    """Stored events by topic (the class and event name)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT topic, COUNT(*) FROM stored_events GROUP BY topic")
        return Counter({topic.rpartition(":")[2]: n for topic, n in rows})


def measure(service_name: str, customers: int, run: int, now: datetime) -> dict[str, Any]:
    entry = next(s for s in SERVICES if s.name == service_name)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = LaokeSettings(data_dir=Path(data_dir))
        service: Any = entry.build(settings, ManualClock(now))
        consumer = service.consumer
        delivered = messages(consumer.durable, customers, now)
        started = time.process_time()
        for start in range(0, len(delivered), run):
            contextvars.copy_context().run(consumer._apply, delivered[start : start + run])
        cpu = time.process_time() - started
        service.app.close()
        topics = stored(settings.sqlite_path(service.store_name))
    return {"messages": len(delivered), "cpu_s": cpu, "topics": topics}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m laoke.bench.handling")
    parser.add_argument("--service", default="outreach")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--run", type=int, default=200, help="messages a run (the runner's)")
    parser.add_argument("--now", default="2026-06-01T09:00:00+00:00", help="the parked clock")
    args = parser.parse_args()
    found = measure(args.service, args.customers, args.run, datetime.fromisoformat(args.now))
    topics: Counter[str] = found["topics"]
    total = sum(topics.values())
    print(f"{args.service}: {args.customers} light customers, {found['messages']} messages")
    print(f"stored events: {total} = {total / args.customers:.2f} per customer")
    for topic, n in topics.most_common():
        print(f"  {n / args.customers:6.2f}  {topic}")
    rate = found["messages"] / found["cpu_s"]
    print(f"CPU {found['cpu_s']:.2f} s: {rate:,.0f} messages handled per CPU-second")


if __name__ == "__main__":
    main()
