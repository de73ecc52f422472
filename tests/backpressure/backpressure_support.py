"""Memory sampling and burst publishing for the back-pressure tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from nats.js import JetStreamContext

from events import retention_subject
from events.factories import sample_inbound

WINDOW = 2000  # publishes in flight before awaiting their acks (nats-py allows 4000)


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size now (VmRSS), in KiB, of this process or `pid`."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@dataclass
class Memory:
    """The RSS of this process (the services and the publisher) and of nats-server,
    sampled every 0.2 s while the block runs."""

    server_pid: int
    base_kib: int = 0
    peak_kib: int = 0
    server_peak_kib: int = 0
    samples: list[int] = field(default_factory=list)

    def sample(self) -> None:
        own = rss_kib()
        self.samples.append(own)
        self.peak_kib = max(self.peak_kib, own)
        self.server_peak_kib = max(self.server_peak_kib, rss_kib(self.server_pid))

    @property
    def growth_mib(self) -> float:
        return (self.peak_kib - self.base_kib) / 1024


@contextlib.asynccontextmanager
async def sampling(memory: Memory) -> AsyncIterator[Memory]:
    memory.base_kib = rss_kib()
    memory.sample()

    async def loop() -> None:
        while True:
            memory.sample()
            await asyncio.sleep(0.2)

    task = asyncio.create_task(loop())
    try:
        yield memory
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        memory.sample()


def visits(count: int, customers: int, dealership: str = "demo-4s") -> Iterator[dict[str, object]]:
    """`count` valid inbound CustomerVisited events spread over `customers` phones."""
    template = sample_inbound("CustomerVisited")
    for i in range(count):
        customer = i % customers
        yield template | {
            "event_id": str(uuid.uuid4()),
            "dealership_id": dealership,
            "customer": {"phone": f"+86139{customer:08d}"},
            "note": f"visit {i}",
        }


def as_recorded(event: dict[str, object], index: int, customers: int) -> dict[str, object]:
    """The event as intake records it: a canonical customer id and the audit links."""
    return event | {
        "customer_id": f"c-burst-{index % customers:06d}",
        "correlation_id": event["event_id"],
        "causation_id": event["event_id"],
    }


async def publish_pipelined(
    js: JetStreamContext,
    messages: Iterator[tuple[str, bytes, dict[str, str] | None]],
) -> int:
    """Publish in windows of `WINDOW` outstanding acks; return how many were stored."""
    stored = 0
    pending = []
    for subject, body, headers in messages:
        pending.append(await js.publish_async(subject, body, headers=headers))
        if len(pending) >= WINDOW:
            stored += len(await asyncio.gather(*pending))
            pending = []
    stored += len(await asyncio.gather(*pending))
    return stored


def recorded_burst(count: int, customers: int) -> Iterator[tuple[str, bytes, dict[str, str]]]:
    for i, event in enumerate(visits(count, customers)):
        event = as_recorded(event, i, customers)
        subject = retention_subject("demo-4s", str(event["customer_id"]), "CustomerVisited")
        yield subject, json.dumps(event).encode(), {"Nats-Msg-Id": str(event["event_id"])}


def inbound_burst(count: int, customers: int) -> Iterator[tuple[str, bytes, None]]:
    for event in visits(count, customers):
        yield "dealer.in.demo-4s.CustomerVisited", json.dumps(event).encode(), None


async def wait_for(check: Callable[[], Awaitable[bool] | bool], timeout: float, what: str) -> float:
    """Poll `check` until it holds; return the seconds it took; fail after `timeout`."""
    started = time.perf_counter()
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)
