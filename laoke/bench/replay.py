"""One service alone on a real stream: `python -m laoke.bench.replay DIR --service NAME`.

DIR is a bench run's temp dir kept with `--keep` (its NATS store and master key). The
stream is copied (DIR stays as it was), the service's durable consumer dropped, and
`laoke serve NAME` started on a fresh store in the copy's temp dir, so it reads RETENTION
from the start as a live process does: from NATS, its customers' history growing in its
store, its decisions published back onto the stream it reads. Every `--every` seconds
the bench prints how far it got, at what rate, and how much of a core it used; it stops
once the service has caught up (or after `--seconds`), with its messages per CPU-second.

`laoke.bench.handling` measures a service's handling in process on fresh customers; this
measures what a deployment pays: NATS, the store's history, the relay, the ticker.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import nats

from laoke.bench.measures import cpu_seconds
from laoke.bench.processes import Processes, service_env
from laoke.keyring import MASTER_KEY_FILE
from laoke.natsserver import NatsServer
from laoke.streams import RETENTION


async def replay(kept: Path, service: str, seconds: float, every: float) -> None:
    with tempfile.TemporaryDirectory(prefix="laoke-replay-") as name:
        tmp = Path(name)
        shutil.copytree(kept / "nats", tmp / "nats", ignore=shutil.ignore_patterns("*.pid"))
        (tmp / "data").mkdir()
        shutil.copy(kept / "data" / MASTER_KEY_FILE, tmp / "data" / MASTER_KEY_FILE)
        server = NatsServer(tmp / "nats")
        server.start()
        try:
            await server.wait_ready()
            await _measured(server.url, tmp, service, seconds, every)
        finally:
            server.stop()


async def _measured(url: str, tmp: Path, service: str, seconds: float, every: float) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for consumer in await js.consumers_info(RETENTION):  # the kept run's positions
        await js.delete_consumer(RETENTION, consumer.name)
    processes = Processes(service_env(url, tmp / "data"), tmp)
    processes.start(service)
    pid = processes.pid(service)
    started = time.perf_counter()
    reached, cpu, at = 0, 0.0, started
    try:
        while time.perf_counter() - started < seconds:
            await asyncio.sleep(every)
            try:
                info = await js.consumer_info(RETENTION, service)
            except Exception:  # not created yet
                continue
            before = (reached, cpu, at)
            reached, cpu, at = info.delivered.stream_seq, cpu_seconds(pid), time.perf_counter()
            print(
                f"{at - started:6.0f} s  at {reached:,}"
                f"  {(reached - before[0]) / (at - before[2]):7,.0f} msg/s"
                f"  {(cpu - before[1]) / (at - before[2]):.2f} of a core"
                f"  {info.num_pending:,} left",
                flush=True,
            )
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
        print(
            f"{service}: {reached:,} messages in {at - started:.0f} s, {cpu:.1f} CPU-s"
            f" = {reached / max(cpu, 1e-9):,.0f} per CPU-second;"
            f" peak RSS {processes.peak_rss_mb(service):,.0f} MB",
            flush=True,
        )
    finally:
        processes.stop_all()
        await nc.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kept", type=Path, help="a bench run's temp dir, kept with --keep")
    parser.add_argument("--service", default="outreach", help="complaints, outreach, ...")
    parser.add_argument("--seconds", type=float, default=900, help="stop after this long")
    parser.add_argument("--every", type=float, default=10, help="seconds between lines")
    args = parser.parse_args(argv)
    asyncio.run(replay(args.kept, args.service, args.seconds, args.every))


if __name__ == "__main__":
    main()
