"""The benchmark: laoke measured against raw NATS, in one run, on this machine.

    python -m laoke.bench [--events 30000] [--customers 100000] [--write docs/benchmarks.md]

It starts a fresh nats-server (127.0.0.1, temp dir) and each service as its own process
(`laoke serve NAME`), then measures:
  (a) raw JetStream publish rate of nats-py (publish_async, pipelined): the reference;
  (b) intake end to end: publish to DEALER_IN until recorded on RETENTION, and the ratio to (a);
  (c) projection lag while inbound events arrive at a steady 2,000 events/s;
  (d) rebuild rate from RETENTION, next to nats-py's raw ordered-consumer read of the stream;
  (e) read API latency p50/p99 (profile, timeline, work list, metrics) at --customers customers;
  (f) peak RSS of each service process.
Nothing here is asserted: the numbers go to stdout (and to --write as Markdown).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import httpx
import nats
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from events import CustomerRegistered, FollowUpDue, VehiclePurchased, retention_subject, to_json
from laoke.natsserver import NatsServer, free_port
from laoke.partitions import Partition, partition_of
from laoke.sim.config import SimConfig
from laoke.sim.generator import simulate
from laoke.streams import ensure_streams

Item = tuple[str, bytes, dict[str, str] | None]  # subject, body, headers
SERVICES = ("intake", "projections", "complaints", "outreach", "referrals", "workshop")
DEALERSHIP = "bench-4s"


@dataclass
class Results:
    lines: list[tuple[str, str]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, label: str, value: str, **raw: Any) -> None:
        self.lines.append((label, value))
        self.raw |= raw
        print(f"{label:<58} {value}", flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.01)


async def messages(js: JetStreamContext, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


async def pipelined_publish(
    js: JetStreamContext, items: Sequence[Item], window: int = 4000
) -> None:
    pending: list[Any] = []
    for subject, data, headers in items:
        pending.append(await js.publish_async(subject, data, headers=headers))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)


# -- (a) ----------------------------------------------------------------------------------
async def raw_publish_rate(js: JetStreamContext, n: int) -> float:
    await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"], storage=StorageType.FILE))
    payload = b"x" * 400  # about the size of an inbound event
    items = [(f"bench.{i % 64}", payload, {"Nats-Msg-Id": f"b{i}"}) for i in range(n)]
    started = time.perf_counter()
    await pipelined_publish(js, items)
    return n / (time.perf_counter() - started)


# -- processes ----------------------------------------------------------------------------
class Processes:
    def __init__(self, base_env: dict[str, str], log_dir: Path) -> None:
        self.base_env = base_env
        self.log_dir = log_dir
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self,
        name: str,
        http_port: int | None = None,
        *,
        label: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Start `laoke serve name`, known as `label` (default: name), with `env` added."""
        full_env = self.base_env | (env or {})
        if http_port:
            full_env["LAOKE_HTTP_PORT"] = str(http_port)
        command = [sys.executable, "-m", "laoke", "serve", name]
        if http_port is None:
            command.append("--no-http")
        label = label or name
        log = (self.log_dir / f"{label}.log").open("ab")
        self.running[label] = subprocess.Popen(command, env=full_env, stdout=log, stderr=log)

    def peak_rss_mb(self, name: str) -> float:
        status = Path(f"/proc/{self.running[name].pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self, name: str) -> None:
        process = self.running.pop(name)
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


async def consumer_lag(js: JetStreamContext, durable: str) -> int:
    try:
        info = await js.consumer_info("RETENTION", durable)
    except Exception:
        return 10**9  # not created yet
    return int(info.num_pending) + int(info.num_ack_pending)


# -- (c) ----------------------------------------------------------------------------------
async def paced_lag(
    js: JetStreamContext, events: Sequence[Item], rate: float
) -> tuple[list[float], float]:
    """Publish at `rate`/s; sample how far behind projections is, in seconds of arrivals."""
    samples: list[float] = []
    started = time.perf_counter()
    pending: list[Any] = []
    published = 0
    baseline = await consumer_lag(js, "projections")
    next_sample = started + 0.25
    for subject, data, headers in events:
        target = started + published / rate
        now = time.perf_counter()
        if target > now:
            await asyncio.sleep(target - now)
        pending.append(await js.publish_async(subject, data, headers=headers))
        published += 1
        if time.perf_counter() >= next_sample:
            # Messages not yet projected, over the arrival rate into RETENTION, is how long
            # the newest arrival waits: the lag a dashboard reader sees.
            behind = max(0, await consumer_lag(js, "projections") - baseline)
            samples.append(behind / rate)
            next_sample += 0.25
    await asyncio.gather(*pending)
    return samples, published / (time.perf_counter() - started)


# -- (d) ----------------------------------------------------------------------------------
async def raw_ordered_read_rate(js: JetStreamContext) -> tuple[int, float]:
    total = await messages(js, "RETENTION")
    sub = await js.subscribe("retention.>", ordered_consumer=True, pending_msgs_limit=100_000)
    started = time.perf_counter()
    for _ in range(total):
        await sub.next_msg(timeout=10)
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    return total, total / elapsed


# -- (e) ----------------------------------------------------------------------------------
def light_customers(n: int, now: datetime) -> list[Item]:
    """n customers straight onto RETENTION: registration, a purchase, a follow-up due."""
    items: list[Item] = []
    for i in range(n):
        cid = str(uuid5(NAMESPACE_URL, f"bench-customer-{i}"))
        when = now - timedelta(days=400 - i % 365)
        base = {
            "dealership_id": DEALERSHIP,
            "source": "bench",
            "customer": {"phone": f"139{i:08d}"},
            "customer_id": cid,
            "schema_version": 1,
        }
        registered_id = uuid5(NAMESPACE_URL, f"bench-reg-{i}")
        registered = CustomerRegistered.model_validate(
            base
            | {
                "event_id": registered_id,
                "event_type": "CustomerRegistered",
                "occurred_at": when,
                "correlation_id": registered_id,
                "causation_id": registered_id,
                "name": f"客户{i}",
                "phones": [f"139{i:08d}"],
                "advisor_id": f"adv-{i % 20:03d}",
                "consent": {"marketing": True, "channels": ["phone"]},
            },
            context={"trusted": True},
        )
        purchase_id = uuid5(NAMESPACE_URL, f"bench-buy-{i}")
        purchased = VehiclePurchased.model_validate(
            base
            | {
                "event_id": purchase_id,
                "event_type": "VehiclePurchased",
                "occurred_at": when + timedelta(days=1),
                "correlation_id": purchase_id,
                "causation_id": purchase_id,
                "vin": f"LBENCH{i:011d}"[:17],
                "model": "CT5",
                "colour": "black",
                "price_cny": 250000,
                "advisor_id": f"adv-{i % 20:03d}",
            },
            context={"trusted": True},
        )
        due_id = uuid5(NAMESPACE_URL, f"bench-due-{i}")
        due = FollowUpDue.model_validate(
            base
            | {
                "event_id": due_id,
                "event_type": "FollowUpDue",
                "source": "outreach",
                "occurred_at": when + timedelta(days=1),
                "correlation_id": purchase_id,
                "causation_id": purchase_id,
                "follow_up_id": f"fu-bench-{i}",
                "reason": "purchase_call_7d",
                "due_at": now + timedelta(days=i % 30 - 15),
                "channel": "phone",
            },
            context={"trusted": True},
        )
        for event in (registered, purchased, due):
            subject = retention_subject(DEALERSHIP, cid, event.event_type)
            items.append((subject, to_json(event), {"Nats-Msg-Id": str(event.event_id)}))
    return items


async def api_latency(
    base_url: str, paths: dict[str, Callable[[int], str]], requests: int
) -> dict[str, tuple[float, float]]:
    results = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for label, path_of in paths.items():
            for i in range(5):  # warm-up, not timed: first connections, lazy schemas
                await client.get(path_of(i))
            timings = []
            for i in range(requests):
                started = time.perf_counter()
                response = await client.get(path_of(i))
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
            results[label] = (statistics.median(timings), percentile(timings, 0.99))
    return results


# -- the run --------------------------------------------------------------------------------
@dataclass
class Rig:
    """A fresh nats-server in a temp dir, a client, and the services' processes."""

    tmp: Path
    server: NatsServer
    nc: nats.NATS
    js: JetStreamContext
    processes: Processes


@contextlib.asynccontextmanager
async def rig(results: Results, env: dict[str, str] | None = None) -> AsyncIterator[Rig]:
    """Start the rig (services get `env` too); stop it all at the end. Records the load
    average before and after, since the machine is shared."""
    tmp = Path(tempfile.mkdtemp(prefix="laoke-bench-"))
    server = NatsServer(tmp / "nats")
    server.start()
    await server.wait_ready()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1)
    js = nc.jetstream(publish_async_max_pending=8000)
    await ensure_streams(js)
    base = {k: v for k, v in os.environ.items() if not k.startswith("LAOKE_")} | {
        "LAOKE_NATS_URL": server.url,
        "LAOKE_DATA_DIR": str(tmp / "data"),
        "LAOKE_AUTH": "off",
    }
    processes = Processes(base | (env or {}), tmp)
    results.raw["load_before"] = os.getloadavg()
    try:
        yield Rig(tmp, server, nc, js, processes)
    finally:
        processes.stop_all()
        await nc.close()
        server.stop()
        results.raw["load_after"] = os.getloadavg()


async def run(args: argparse.Namespace) -> Results:
    results = Results()
    http_port = free_port()
    async with rig(results) as r:
        server, js, processes, tmp = r.server, r.js, r.processes, r.tmp
        print(f"nats-server {server.url}, data in {tmp}", flush=True)
        raw = await raw_publish_rate(js, args.raw)
        results.add("(a) raw JetStream publish_async (nats-py)", f"{raw:,.0f} msg/s", raw=raw)

        sim = simulate(
            SimConfig(dealerships=1, customers=args.sim_customers, months=12, seed=11),
            now=datetime.now(UTC),
        )
        inbound: list[Item] = [
            (f"dealer.in.{e.dealership_id}.{e.event_type}", e.data, None) for e in sim.events
        ]
        burst, paced = inbound[: args.events], inbound[args.events :]
        processes.start("intake")
        await wait_until(lambda: _has_consumer(js, "DEALER_IN", "intake"), 60)
        intake_rate = await recorded_rate(js, burst)
        results.add(
            f"(b) intake end to end ({len(burst):,} events)",
            f"{intake_rate:,.0f} events/s = {intake_rate / raw:.0%} of (a)",
            intake=intake_rate,
        )

        processes.start("projections", http_port=http_port)
        for name in SERVICES[2:]:
            processes.start(name)
        started = time.perf_counter()
        await wait_until(lambda: _caught_up(js, "projections"), 900)
        backlog = await messages(js, "RETENTION")
        catch_up = backlog / (time.perf_counter() - started)
        results.add(
            f"    projections catch-up of {backlog:,} recorded events",
            f"{catch_up:,.0f} events/s",
            catch_up=catch_up,
        )
        samples, achieved = await paced_lag(js, paced[: args.paced_seconds * 2000], 2000.0)
        await wait_until(lambda: _caught_up(js, "projections"), 300)
        if samples:
            results.add(
                f"(c) projection lag at {achieved:,.0f} events/s ({len(samples)} samples)",
                f"p50 {percentile(samples, 0.5):.2f} s, p99 {percentile(samples, 0.99):.2f} s, "
                f"max {max(samples):.2f} s",
                lag_p50=percentile(samples, 0.5),
                lag_p99=percentile(samples, 0.99),
            )

        light = light_customers(args.customers, datetime.now(UTC))
        await pipelined_publish(js, light)
        del light
        await wait_until(lambda: _caught_up(js, "projections"), 1800)
        # The other services are still working through this backlog (it is not theirs to
        # be fast at here): note how far behind they are and their peak memory so far, then
        # stop them, so that (e) measures the API and not a box busy with their catch-up.
        peaks: dict[str, float] = {}
        behind = []
        for name in SERVICES[2:]:
            peaks[name] = processes.peak_rss_mb(name)
            behind.append(f"{name} {await consumer_lag(js, name):,}")
            processes.stop(name)
        results.add("    others' backlog when stopped before (e)", ", ".join(behind))
        customer_ids = [str(uuid5(NAMESPACE_URL, f"bench-customer-{i}")) for i in range(500)]
        base_url = f"http://127.0.0.1:{http_port}"
        latency = await api_latency(
            base_url,
            {
                "profile": lambda i: f"/v1/customers/{customer_ids[i % 500]}",
                "timeline": lambda i: f"/v1/customers/{customer_ids[i % 500]}/timeline",
                "work list": lambda i: f"/v1/followups?dealership_id={DEALERSHIP}&status=due",
                "metrics": lambda i: f"/v1/metrics/satisfaction?dealership_id={DEALERSHIP}",
            },
            args.requests,
        )
        for label, (p50, p99) in latency.items():
            results.add(
                f"(e) read API {label} at {args.customers:,} customers",
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                **{f"api_{label.replace(' ', '_')}_p99": p99},
            )

        for name in SERVICES:
            rss = peaks.get(name) or processes.peak_rss_mb(name)
            results.add(f"(f) peak RSS {name}", f"{rss:,.0f} MB", **{f"rss_{name}": rss})

        processes.stop_all()
        # Both reads below run in this process, which holds the simulated events: keep the
        # collector from walking them (it would slow both, and the rebuild more).
        for items in (sim.events, inbound, burst, paced):
            items.clear()
        gc.collect()
        gc.freeze()
        total, raw_read = await raw_ordered_read_rate(js)
        from laoke.settings import LaokeSettings
        from services.projections.rebuild import rebuild_async

        settings = LaokeSettings(data_dir=tmp / "data", nats_url=server.url)
        started = time.perf_counter()
        await rebuild_async(settings, swap=False, progress=None)
        rebuild_rate = total / (time.perf_counter() - started)
        results.add(
            f"(d) rebuild from RETENTION ({total:,} events)",
            f"{rebuild_rate:,.0f} events/s = {rebuild_rate / raw_read:.0%} of raw read",
            rebuild=rebuild_rate,
        )
        results.add("    raw ordered-consumer read (nats-py)", f"{raw_read:,.0f} msg/s")
    return results


async def recorded_rate(js: JetStreamContext, burst: Sequence[Item]) -> float:
    """Publish `burst` on DEALER_IN; events/s until all of it is on RETENTION (or the DLQ)."""
    started = time.perf_counter()
    await pipelined_publish(js, burst)
    await wait_until(lambda: _at_least(js, "RETENTION", len(burst), extra="RETENTION_DLQ"), 600)
    return len(burst) / (time.perf_counter() - started)


async def _has_consumer(js: JetStreamContext, stream: str, durable: str) -> bool:
    try:
        await js.consumer_info(stream, durable)
    except Exception:
        return False
    return True


async def _at_least(js: JetStreamContext, stream: str, count: int, extra: str) -> bool:
    return await messages(js, stream) + await messages(js, extra) >= count


async def _caught_up(js: JetStreamContext, durable: str) -> bool:
    return await consumer_lag(js, durable) == 0


def markdown(results: Results, args: argparse.Namespace) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    before, after = results.raw.get("load_before"), results.raw.get("load_after")
    if before and after:  # the machine is shared: say how busy it was
        machine += f"; load average {before[0]:.1f} at start, {after[0]:.1f} at end"
    rows = "\n".join(f"| {label.strip()} | {value} |" for label, value in results.lines)
    command = "python -m laoke.bench " + " ".join(sys.argv[1:])
    return (
        f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"Machine: {machine}. Command: `{command}`.\n\n"
        f"| measure | result |\n| --- | --- |\n{rows}\n\n"
        f"<details><summary>raw</summary>\n\n```json\n{json.dumps(results.raw, indent=1)}\n```\n"
        "</details>\n"
    )


def spread_dealerships(partitions: int, per_partition: int = 2) -> list[str]:
    """Dealership ids, `per_partition` in each of the partitions (laoke/partitions.py)."""
    found: dict[int, list[str]] = {p: [] for p in range(partitions)}
    n = 0
    while any(len(ids) < per_partition for ids in found.values()):
        name = f"sim-{n:03d}"
        ids = found[partition_of(name, partitions)]
        if len(ids) < per_partition:
            ids.append(name)
        n += 1
    return [name for p in range(partitions) for name in found[p]]


async def intake_scaling(args: argparse.Namespace) -> Results:
    """(a) and (b) only, with `--intake-partitions` intake processes, one partition each, on
    a load spread over two dealerships per partition (the same load whatever the count)."""
    results = Results()
    count = args.intake_partitions
    async with rig(results, {"LAOKE_PARTITIONS": str(count)}) as r:
        js, processes = r.js, r.processes
        raw = await raw_publish_rate(js, args.raw)
        results.add("(a) raw JetStream publish_async (nats-py)", f"{raw:,.0f} msg/s", raw=raw)
        ids = spread_dealerships(max(count, 2))
        config = SimConfig(
            dealerships=len(ids),
            dealership_ids=ids,
            customers=args.sim_customers,
            months=12,
            seed=11,
        )
        sim = simulate(config, now=datetime.now(UTC))
        burst = [(f"dealer.in.{e.dealership_id}.{e.event_type}", e.data, None) for e in sim.events]
        burst = burst[: args.events]
        for index in range(count):
            owned = {"LAOKE_PARTITIONS_OWNED": str(index)}
            processes.start("intake", label=f"intake-{index}", env=owned)
        durables = [Partition(index, count).durable("intake") for index in range(count)]
        for durable in durables:
            await wait_until(functools.partial(_has_consumer, js, "DEALER_IN", durable), 60)
        rate = await recorded_rate(js, burst)
        results.add(
            f"(b) intake, {count} process(es), {len(ids)} dealerships ({len(burst):,} events)",
            f"{rate:,.0f} events/s = {rate / raw:.0%} of (a)",
            intake=rate,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="laoke bench", description=__doc__.split("\n")[0])
    parser.add_argument("--raw", type=int, default=50_000, help="messages for (a)")
    parser.add_argument("--events", type=int, default=30_000, help="inbound burst for (b)")
    parser.add_argument("--paced-seconds", type=int, default=15, help="duration of (c)")
    parser.add_argument("--sim-customers", type=int, default=6000, help="simulated customers")
    parser.add_argument("--customers", type=int, default=100_000, help="customers for (e)")
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--write", type=Path, help="append the results to this Markdown file")
    parser.add_argument(
        "--intake-partitions",
        type=int,
        default=0,
        help="only (a) and (b), with this many intake processes (LAOKE_PARTITIONS)",
    )
    args = parser.parse_args()
    results = asyncio.run(intake_scaling(args) if args.intake_partitions else run(args))
    if args.write:
        with args.write.open("a") as out:
            out.write("\n" + markdown(results, args))


if __name__ == "__main__":
    main()
