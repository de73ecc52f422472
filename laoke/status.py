"""`laoke status`: the streams, each durable consumer's lag, dead letters by reason and the
partition leases, on one screen or as JSON (`--json`).

Read-only: it asks JetStream (stream and consumer info, the DLQ's per-subject counts, the
leases bucket) and changes nothing; it connects as the admin user of the embedded server, or
as `LAOKE_NATS_USER` on an external NATS (docs/security.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.js.errors import BucketNotFoundError, NoKeysError, NotFoundError
from rich import box
from rich.console import Console
from rich.table import Table

from laoke.dlq import REDRIVES
from laoke.service import nats_options
from laoke.settings import LaokeSettings
from laoke.streams import DEALER_IN, LEASES, RETENTION, RETENTION_DLQ

STREAMS = (DEALER_IN, RETENTION, RETENTION_DLQ)


async def collect(nc: NatsClient, now: datetime | None = None) -> dict[str, Any]:
    """Everything `laoke status` shows, as plain data (what `--json` prints)."""
    js = nc.jetstream()
    streams: list[dict[str, Any]] = []
    consumers: list[dict[str, Any]] = []
    for name in STREAMS:
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            streams.append({"name": name, "missing": True})
            continue
        state = info.state
        streams.append(
            {
                "name": name,
                "messages": state.messages,
                "bytes": state.bytes,
                "first_seq": state.first_seq,
                "last_seq": state.last_seq,
                "consumers": state.consumer_count,
            }
        )
        for consumer in sorted(await js.consumers_info(name), key=lambda c: c.name):
            consumers.append(
                {
                    "stream": name,
                    "name": consumer.name,
                    "lag": consumer.num_pending or 0,  # on the stream, not yet delivered
                    "ack_pending": consumer.num_ack_pending or 0,  # delivered, not yet acked
                    "delivered_seq": consumer.delivered.stream_seq if consumer.delivered else 0,
                }
            )
    url = nc.connected_url
    return {
        "server": f"{url.scheme}://{url.hostname}:{url.port}" if url else None,  # no password
        "streams": streams,
        "consumers": consumers,
        "dead_letters": await dead_letters(nc),
        "leases": await leases(nc, now or datetime.now(UTC)),
    }


async def dead_letters(nc: NatsClient) -> list[dict[str, Any]]:
    """Dead letters kept, by service and reason: per-subject counts of `dlq.<service>.<reason>`
    (the server counts them; no message is read)."""
    try:
        info = await nc.jetstream().stream_info(RETENTION_DLQ, subjects_filter="dlq.>")
    except NotFoundError:
        return []
    rows = []
    for subject, count in sorted((info.state.subjects or {}).items()):
        if subject == REDRIVES:  # ops' records of re-drives, kept beside the letters
            continue
        service, _, reason = subject.removeprefix("dlq.").partition(".")
        rows.append({"service": service, "reason": reason, "count": count})
    return rows


async def leases(nc: NatsClient, now: datetime) -> list[dict[str, Any]]:
    """Who runs each partition (laoke/leases.py): the holder and how long ago it wrote
    (the key's last message on the bucket's stream, which carries the time)."""
    js = nc.jetstream()
    try:
        keys = await (await js.key_value(LEASES)).keys()
    except (BucketNotFoundError, NoKeysError, NotFoundError):
        return []
    rows = []
    for key in sorted(keys):
        try:
            last = await js.get_msg(f"KV_{LEASES}", subject=f"$KV.{LEASES}.{key}")
        except NotFoundError:
            continue
        if (last.headers or {}).get("KV-Operation") in ("DEL", "PURGE"):
            continue  # released meanwhile
        age = round((now - last.time).total_seconds(), 1) if last.time else None
        rows.append({"partition": key, "holder": (last.data or b"").decode(), "age_s": age})
    return rows


def _table(title: str, *columns: str, numbers: int = 0) -> Table:
    """A compact table; its last `numbers` columns are counts, right-aligned."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    for n, column in enumerate(columns):
        table.add_column(column, justify="right" if n >= len(columns) - numbers else "left")
    return table


def render(status: dict[str, Any], console: Console) -> None:
    console.print(f"NATS {status['server']}")
    streams = _table("Streams", "stream", "messages", "bytes", "last seq", "consumers", numbers=4)
    for s in status["streams"]:
        if s.get("missing"):
            streams.add_row(s["name"], "missing", "", "", "")
        else:
            cells = (s["messages"], s["bytes"], s["last_seq"], s["consumers"])
            streams.add_row(s["name"], *(f"{c:,}" for c in cells))
    console.print(streams)
    lag = _table("Consumers", "consumer", "stream", "lag", "ack pending", "delivered", numbers=3)
    for c in status["consumers"]:
        counts = (c["lag"], c["ack_pending"], c["delivered_seq"])
        lag.add_row(c["name"], c["stream"], *(f"{n:,}" for n in counts))
    console.print(lag)
    dead = _table("Dead letters (RETENTION_DLQ)", "service", "reason", "count", numbers=1)
    for d in status["dead_letters"]:
        dead.add_row(d["service"], d["reason"], f"{d['count']:,}")
    console.print(dead if status["dead_letters"] else "Dead letters: none")
    held = _table("Leases", "partition", "held by", "written")
    for lease in status["leases"]:
        age = "" if lease["age_s"] is None else f"{lease['age_s']} s ago"
        held.add_row(lease["partition"], lease["holder"], age)
    console.print(held if status["leases"] else "Leases: none (unpartitioned, or nothing runs)")


async def _quiet(_: Exception) -> None:
    """nats-py logs each failed attempt with a traceback; `main` says it once."""


async def status(settings: LaokeSettings) -> dict[str, Any]:
    once = {"allow_reconnect": False, "max_reconnect_attempts": 1, "error_cb": _quiet}
    nc = await nats.connect(name="laoke-status", **nats_options(settings) | once)  # type: ignore[arg-type]
    try:
        return await collect(nc)
    finally:
        await nc.close()


def main(settings: LaokeSettings, argv: Sequence[str], out: Any = None) -> int:
    parser = argparse.ArgumentParser(
        prog="laoke status",
        description="Streams, consumer lag, dead letters by reason, partition leases",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object instead")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    try:
        found = asyncio.run(status(settings))
    except Exception as exc:  # unreachable server, refused user: say so, no traceback
        where = settings.nats_url or f"nats://127.0.0.1:{settings.nats_port}"
        print(f"laoke status: cannot read NATS at {where}: {exc!r}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2), file=out)
    else:
        render(found, Console(file=out, width=100))
    return 0
