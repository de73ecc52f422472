"""Each measurement, and the stream conditions the runs wait for."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from laoke.bench.load import Item
from laoke.bench.report import percentile


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.01)


async def messages(js: JetStreamContext, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


async def consumer_lag(js: JetStreamContext, durable: str, stream: str = "RETENTION") -> int:
    try:
        info = await js.consumer_info(stream, durable)
    except Exception:
        return 10**9  # not created yet
    return int(info.num_pending) + int(info.num_ack_pending)


async def has_consumer(js: JetStreamContext, stream: str, durable: str) -> bool:
    try:
        await js.consumer_info(stream, durable)
    except Exception:
        return False
    return True


async def caught_up(js: JetStreamContext, durable: str) -> bool:
    return await consumer_lag(js, durable) == 0


async def all_caught_up(js: JetStreamContext, durables: Sequence[str]) -> bool:
    for durable in durables:
        if not await caught_up(js, durable):
            return False
    return True


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


# -- (b) ----------------------------------------------------------------------------------
async def recorded_rate(js: JetStreamContext, burst: Sequence[Item]) -> float:
    """Publish `burst` on DEALER_IN; events/s until all of it is on RETENTION (or the DLQ)."""

    async def all_recorded() -> bool:
        return await messages(js, "RETENTION") + await messages(js, "RETENTION_DLQ") >= len(burst)

    started = time.perf_counter()
    await pipelined_publish(js, burst)
    await wait_until(all_recorded, 600)
    return len(burst) / (time.perf_counter() - started)


# -- (c) ----------------------------------------------------------------------------------
async def paced_lag(
    js: JetStreamContext, events: Sequence[Item], rate: float
) -> tuple[list[float], float]:
    """Publish at `rate`/s; sample how far behind projections is, in seconds of arrivals."""

    async def unprojected() -> int:
        """Arrivals intake has not recorded yet, and recorded events not yet projected."""
        return await consumer_lag(js, "intake", "DEALER_IN") + await consumer_lag(js, "projections")

    samples: list[float] = []
    started = time.perf_counter()
    pending: list[Any] = []
    published = 0
    baseline = await unprojected()
    next_sample = started + 0.25
    for subject, data, headers in events:
        target = started + published / rate
        now = time.perf_counter()
        if target > now:
            await asyncio.sleep(target - now)
        pending.append(await js.publish_async(subject, data, headers=headers))
        published += 1
        if time.perf_counter() >= next_sample:
            # Messages not yet projected, over the arrival rate, is how long the newest
            # arrival waits: the lag a dashboard reader sees.
            behind = max(0, await unprojected() - baseline)
            samples.append(behind / rate)
            next_sample += 0.25
    await asyncio.gather(*pending)
    return samples, published / (time.perf_counter() - started)


# -- (d) ----------------------------------------------------------------------------------
async def raw_ordered_read_rate(js: JetStreamContext) -> tuple[int, float]:
    total = await messages(js, "RETENTION")
    # Room for the whole stream: a reader slower than the server (a busy machine) must not
    # have messages dropped as a slow consumer (nats-py's default is 64 MB).
    sub = await js.subscribe(
        "retention.>",
        ordered_consumer=True,
        pending_msgs_limit=total + 1,
        pending_bytes_limit=4 * 1024**3,
    )
    started = time.perf_counter()
    for _ in range(total):
        await sub.next_msg(timeout=10)
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    return total, total / elapsed


# -- (e) ----------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds (user + system) this process and the processes `pids` use from now on:
    on a shared machine, a rate per CPU-second says more than one per wall-clock second."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self.started = self._now()

    def _now(self) -> float:
        return time.process_time() + sum(cpu_seconds(pid) for pid in self.pids)

    def used(self) -> float:
        return self._now() - self.started


class CoreMeter:
    """Cores each named process used from now on: where a busy machine's time went."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.started = time.perf_counter()
        self.cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def line(self) -> tuple[str, float]:
        """Each process's cores, and their sum."""
        elapsed = time.perf_counter() - self.started
        cores = {n: (cpu_seconds(p) - self.cpu[n]) / elapsed for n, p in self.pids.items()}
        used = ", ".join(f"{name} {c:.2f}" for name, c in cores.items())
        return f"{used}; in all {sum(cores.values()):.2f}", sum(cores.values())


async def api_latency(
    base_url: str, paths: dict[str, Callable[[int], str]], requests: int, pid: int
) -> dict[str, tuple[float, float, float]]:
    """Per path: p50 and p99 of the wall time (ms) one request at a time, and the server
    process's CPU time per request (ms, the mean over them): the figure a busy machine
    inflates least, since waiting for a core is not counted."""
    results = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for label, path_of in paths.items():
            for i in range(5):  # warm-up, not timed: first connections, lazy schemas
                await client.get(path_of(i))
            timings = []
            cpu = cpu_seconds(pid)
            for i in range(requests):
                started = time.perf_counter()
                response = await client.get(path_of(i))
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
            cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / requests
            results[label] = (statistics.median(timings), percentile(timings, 0.99), cpu_ms)
    return results


async def next_cursor(base_url: str, path: str) -> str | None:
    """The `next_cursor` of the page at `path` (to time the page after it), if any."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.get(path)
        response.raise_for_status()
        cursor = response.json().get("next_cursor")
    return str(cursor) if cursor else None


# -- backlog ------------------------------------------------------------------------------
async def backlogs(
    js: JetStreamContext, durables: Sequence[str], within: float
) -> tuple[dict[str, int], dict[str, float]]:
    """Each durable's backlog once all are at 0 or `within` seconds have passed, and how many
    seconds each took to reach 0 (those that did)."""
    started = time.perf_counter()
    cleared: dict[str, float] = {}
    left: dict[str, int] = {}
    while True:
        left = {name: await consumer_lag(js, name) for name in durables}
        for name, count in left.items():
            if count == 0:
                cleared.setdefault(name, time.perf_counter() - started)
        if all(count == 0 for count in left.values()) or time.perf_counter() - started > within:
            return left, cleared
        await asyncio.sleep(0.5)


# -- CSV ----------------------------------------------------------------------------------
def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def csv_download(base_url: str, path: str, pid: int) -> tuple[int, float, float, float]:
    """Stream `path` as CSV: (rows, seconds, the server's RSS before, its highest RSS
    sampled every 20 ms while streaming), in MB."""
    before = peak = rss_mb(pid)
    rows = 0
    sampling = True

    async def sample() -> None:
        nonlocal peak
        while sampling:
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=300) as client,
        client.stream("GET", path, headers={"Accept": "text/csv"}) as response,
    ):
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    sampling = False
    await sampler
    return rows - 1, seconds, before, max(peak, rss_mb(pid))  # less the header row
