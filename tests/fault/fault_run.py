"""Running a scenario (publish while killing) and reading back what the system recorded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fault_inputs import INPUT_HEADER, Input
from fault_processes import Topology
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from events import INBOUND_TYPES
from laoke.streams import DEALER_IN, RETENTION, RETENTION_DLQ

NATS = "nats"


@dataclass(frozen=True)
class Kill:
    """SIGKILL `target` once inputs up to `after_input` are published and `delay_s` later;
    restart it after `down_s`. A target 'nats-<n>' is that nats-server."""

    target: str
    after_input: int
    delay_s: float
    down_s: float


def kill_plan(seed: int, targets: Sequence[str], inputs: int) -> list[Kill]:
    rng = random.Random(f"laoke-fault-kills:{seed}")
    order = list(targets)
    rng.shuffle(order)
    points = sorted(rng.sample(range(inputs // 20, inputs), len(order)))
    return [
        Kill(t, p, round(rng.uniform(0.05, 0.8), 2), round(rng.uniform(0.0, 0.6), 2))
        for t, p in zip(order, points, strict=True)
    ]


@dataclass(frozen=True)
class Recorded:
    seq: int
    event_type: str
    event_id: str
    occurred_at: str
    body: dict[str, Any]


@dataclass
class Outcome:
    retention: list[Recorded] = field(default_factory=list)
    dead_letters: list[dict[str, str]] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    recovered: int = 0  # killed targets running again once all settled
    supervisor_restarts: int = 0  # services that exited by themselves and were restarted
    seconds: float = 0.0

    def counts_by_id(self) -> Counter[str]:
        return Counter(r.event_id for r in self.retention)

    def decisions(self) -> list[Recorded]:
        return [r for r in self.retention if r.event_type not in INBOUND_TYPES]

    def inbound(self) -> list[Recorded]:
        return [r for r in self.retention if r.event_type in INBOUND_TYPES]


async def retrying(action: Callable[[], Awaitable[Any]], timeout: float = 60.0) -> Any:
    """Retry while NATS is down or electing; give up after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await action()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def publish(js: JetStreamContext, inputs: Sequence[Input], chunk: int = 100) -> None:
    """Publish in order, `chunk` at a time, retrying a chunk until every ack is in (the
    per-message Nats-Msg-Id makes a retried publish a no-op on the stream)."""
    for start in range(0, len(inputs), chunk):
        part = inputs[start : start + chunk]

        async def send(part: Sequence[Input] = part) -> None:
            await asyncio.gather(*(js.publish(i.subject, i.data, headers=i.headers) for i in part))

        await retrying(send)


async def read_all(js: JetStreamContext, stream: str, subjects: str) -> list[Msg]:
    """Every message of `stream` now there, in order (ephemeral consumer, no acks)."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.NONE,
        filter_subject=subjects,
        inactive_threshold=30.0,
        mem_storage=True,
        num_replicas=1,
    )
    sub = await js.pull_subscribe(subjects, stream=stream, config=config)
    out: list[Msg] = []
    try:
        pending = int((await sub.consumer_info()).num_pending or 0)
        while pending > 0:
            try:
                batch = await sub.fetch(min(1000, pending), timeout=5.0)
            except NatsTimeoutError:
                pending = int((await sub.consumer_info()).num_pending or 0)
                continue
            out.extend(batch)
            pending = int(batch[-1].metadata.num_pending)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return out


async def quiet(js: JetStreamContext, topology: Topology) -> tuple[int, int, int] | None:
    """(RETENTION last seq, DLQ last seq, work left) or None while NATS cannot answer.
    Work left: messages pending on the consumers, and the services' outboxes not relayed."""
    try:
        work = len(await asyncio.to_thread(topology.unrelayed))
        durables = [(DEALER_IN, "intake")] + [
            (RETENTION, n) for n in topology.services if n != "intake"
        ]
        for stream, durable in durables:
            info = await js.consumer_info(stream, durable)
            work += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        retention = (await js.stream_info(RETENTION)).state.last_seq
        dlq = (await js.stream_info(RETENTION_DLQ)).state.last_seq
        return retention, dlq, work
    except Exception:
        return None


async def settle(
    js: JetStreamContext, topology: Topology, timeout: float, still_s: float = 2.0
) -> None:
    """Wait until no consumer has work and nothing new was recorded for `still_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: tuple[int, int, int] | None = None
    since = loop.time()
    while True:
        topology.supervise()
        state = await quiet(js, topology)
        if state is None or state[2] > 0 or state != last:
            last, since = state, loop.time()
        elif loop.time() - since >= still_s:
            return
        if loop.time() > deadline:
            logs = {n: p.tail(1500) for n, p in topology.processes.items()}
            raise TimeoutError(f"not settled: {last}, dead: {topology.dead()}\n{logs}")
        await asyncio.sleep(0.25)


async def run_scenario(
    topology: Topology, inputs: Sequence[Input], kills: Sequence[Kill], timeout: float
) -> Outcome:
    """Start everything, publish the inputs while carrying out `kills`, wait until it all
    settled, and read RETENTION and the DLQ back. The topology is left running."""
    started = time.monotonic()
    outcome = Outcome()
    await topology.start_nats()
    nc, js = await topology.connect()
    try:
        await topology.ensure_streams(js)
        topology.start_services()
        done = 0
        for kill in kills:
            await publish(js, inputs[done : kill.after_input])
            done = kill.after_input
            await asyncio.sleep(kill.delay_s)  # let work be in flight, then crash it
            await crash_and_restart(topology, kill)
            outcome.kills.append(kill)
        await publish(js, inputs[done:])
        await settle(js, topology, timeout=max(10.0, timeout - (time.monotonic() - started)))
        assert not topology.dead(), f"services died: {topology.dead()}"
        outcome.recovered = sum(1 for kill in kills if alive(topology, kill.target))
        outcome.supervisor_restarts = topology.supervised
        on_retention = await retrying(lambda: read_all(js, RETENTION, "retention.>"))
        outcome.retention = [recorded(m) for m in on_retention]
        in_dlq = await retrying(lambda: read_all(js, RETENTION_DLQ, "dlq.>"))
        outcome.dead_letters = [dict(m.headers or {}) for m in in_dlq]
    finally:
        await nc.close()
    lines = [json.dumps({"seq": r.seq, **r.body}, ensure_ascii=False) for r in outcome.retention]
    (topology.root / "retention.ndjson").write_text("\n".join(lines))  # for a post-mortem
    outcome.seconds = time.monotonic() - started
    return outcome


def alive(topology: Topology, target: str) -> bool:
    if target.startswith(NATS):
        process = topology.servers[int(target.rsplit("-", 1)[1])].process
        return process is not None and process.poll() is None
    return topology.processes[target].alive


async def crash_and_restart(topology: Topology, kill: Kill) -> None:
    """SIGKILL the target, keep it down `down_s`, restart it."""
    if kill.target.startswith(NATS):
        server = topology.servers[int(kill.target.rsplit("-", 1)[1])]
        server.kill()
        await asyncio.sleep(kill.down_s)
        server.start()  # the same store dir: JetStream recovers from it
        await server.wait_ready()
        return
    process = topology.processes[kill.target]
    process.kill()
    await asyncio.sleep(kill.down_s)
    process.start()


def recorded(message: Msg) -> Recorded:
    body = json.loads(message.data)
    return Recorded(
        message.metadata.sequence.stream,
        body["event_type"],
        body["event_id"],
        body["occurred_at"],
        body,
    )


def dlq_inputs(letters: Sequence[dict[str, str]]) -> Counter[int]:
    """How many dead letters each input produced (by the header the publisher set)."""
    return Counter(int(h[INPUT_HEADER]) for h in letters if INPUT_HEADER in h)
