"""The life cycle every service shares: connect, lease, relay, consume, tick, stop.

A service is a `ServiceHost` with one `Worker` per partition it runs: the worker's stream
consumer (laoke/runner.py), the outbox its decisions leave through, and the ticker firing
its deadlines. Deciding services derive from `RetentionService`; intake and projections
supply their own workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import ServiceUnavailableError

from laoke.clock import Clock
from laoke.consumer import Handler, Loads, RetentionConsumer
from laoke.deadlines import DeadlineIndex, OnDeadline, Ticker
from laoke.eventstore import ServiceApplication
from laoke.keyring import Keyring
from laoke.leases import Lease, take
from laoke.logs import SERVICE
from laoke.outbox import OutboxRelay
from laoke.partitions import Partition, owned_partitions
from laoke.runner import RETRY_S, StreamConsumer
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams
from laoke.threads import in_thread
from laoke.work import AggregateCache

log = logging.getLogger(__name__)
STOP_WAIT_S = 30.0  # how long a stop waits for the batch in hand before cancelling it
START_TRIES = 40  # with RETRY_S: how long a start waits for JetStream (a cluster electing)


def close_when_idle(app: ServiceApplication) -> None:
    """Close the store under the application's lock, never in the middle of a write (a
    stop's cancelled tasks have already waited for their threads: laoke/threads.py)."""
    with app.lock:
        app.close()


def nats_options(settings: LaokeSettings) -> dict[str, object]:
    """Options for `nats.connect`."""
    servers = (settings.nats_url or f"nats://127.0.0.1:{settings.nats_port}").split(",")
    options: dict[str, object] = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.5}
    if settings.nats_user:
        # Subscribe only under its own inbox prefix (laoke/natsauth.py).
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password or ""
        options["inbox_prefix"] = f"_INBOX.{settings.nats_user}"
    return options | {"servers": servers}


async def connect(settings: LaokeSettings, name: str) -> tuple[NatsClient, JetStreamContext]:
    """Connect and make sure the streams are there. A cluster that is still electing its
    leaders (just started, or a server just lost) answers with timeouts for a few seconds:
    wait for it rather than exit."""
    nc = await nats.connect(name=name, **nats_options(settings))  # type: ignore[arg-type]
    js = nc.jetstream()
    for attempt in range(1, START_TRIES + 1):
        try:
            await ensure_streams(js, settings.stream_replicas, settings.retention_dedupe_window_s)
            return nc, js
        except (NatsTimeoutError, ServiceUnavailableError, NoRespondersError) as exc:
            if attempt == START_TRIES:
                await nc.close()
                raise
            log.warning("%s: JetStream not ready (%r); trying again", name, exc)
            await asyncio.sleep(RETRY_S)
    raise AssertionError("unreachable")


@dataclass
class Worker:
    """One partition's share of a service."""

    consumer: StreamConsumer
    outbox: ServiceApplication | None = None  # relayed to RETENTION when set
    ticker: Ticker | None = None
    relay: OutboxRelay | None = None
    lease: Lease | None = None

    def kick_relay(self) -> None:
        if self.relay is not None:
            self.relay.kick()


class ServiceHost:
    """Runs a service's workers; `start()` returns once they consume, `stop()` ends them."""

    name = "service"
    relay_idle_s = 1.0  # how often a relay looks at its outbox when nobody kicks it

    def __init__(self, settings: LaokeSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.workers: list[Worker] = []
        self.keyring = Keyring.of(settings)  # customers' data keys (laoke/sealing.py)
        self.nc: NatsClient | None = None
        self._stopping = asyncio.Event()
        self._consuming: list[asyncio.Task[None]] = []
        self._beside: list[asyncio.Task[None]] = []  # relays, tickers, leases: cancelled

    async def start(self) -> None:
        named = SERVICE.set(self.name)  # the tasks started here log as this service
        try:
            await self._start()
        finally:
            SERVICE.reset(named)

    async def _start(self) -> None:
        self.nc, js = await connect(self.settings, f"laoke-{self.name}")
        try:  # a wrong master key stops the start here, before anything is written
            await self.keyring.start(js, self.settings.stream_replicas)
        except BaseException:
            await self.nc.close()
            raise
        for worker in self.workers:
            worker.lease = await take(js, self.settings, worker.consumer.durable.name)
            if worker.outbox is not None:  # publishes in commit order: a crash's leftovers first
                worker.relay = OutboxRelay(worker.outbox, self.nc, self.keyring)
                self._beside_task(worker.relay.run(self._stopping, self.relay_idle_s))
            self._consuming.append(asyncio.create_task(worker.consumer.run(js, self._stopping)))
            if worker.lease is not None:
                self._beside_task(worker.lease.keep(self._stopping))
            if worker.ticker is not None:
                ready = worker.consumer.caught_up
                self._beside_task(worker.ticker.run(self._stopping, ready=ready))
        log.info(
            "%s started (%s)", self.name, ", ".join(w.consumer.durable.name for w in self.workers)
        )

    def _beside_task(self, work: Coroutine[Any, Any, None]) -> None:
        self._beside.append(asyncio.create_task(work))

    async def stop(self) -> None:
        self._stopping.set()
        if self._consuming:
            _, late = await asyncio.wait(self._consuming, timeout=STOP_WAIT_S)
            await _cancel(late)
        await _cancel(self._beside)
        await self.drain()
        for worker in self.workers:
            if worker.relay is not None:
                with contextlib.suppress(Exception):
                    await worker.relay.drain()
            if worker.lease is not None:
                await worker.lease.release()
        if self.nc is not None:
            await self.nc.close()
        await in_thread(self.close)
        log.info("%s stopped", self.name)

    async def drain(self) -> None:
        """What a service finishes once its consumers stopped (before the relays drain)."""

    def close(self) -> None:
        """Close the stores (in a worker thread)."""


async def _cancel(tasks: Iterable[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class RetentionService(ServiceHost):
    """A deciding service: an application, a consumer of RETENTION, its outbox, a ticker.

    Subclasses build the application, the handler and the deadline callback. An instance
    runs one partition (laoke/partitions.py): the registry makes one each.
    """

    one_partition_each = True  # laoke.registry: one instance per partition owned

    def __init__(self, settings: LaokeSettings, clock: Clock) -> None:
        super().__init__(settings, clock)
        partitions = owned_partitions(settings)
        if len(partitions) != 1:
            raise ValueError(f"{self.name}: one partition per instance, not {len(partitions)}")
        self.partition: Partition = partitions[0]
        self.app = self.build_app()
        self.deadlines = DeadlineIndex()
        self.app.observers.append(self.deadlines.observe)
        # Shared by the consumer and the ticker: they take turns (the application's lock).
        cache = AggregateCache(settings.aggregate_cache) if settings.aggregate_cache else None
        self.consumer = RetentionConsumer(
            self.name,
            self.app,
            self.handler(),
            on_committed=self._kick_relay,
            partition=self.partition,
            keyring=self.keyring,
            loads=self.loads(),
            cache=cache,
            handles=self.handles(),
        )
        on_due = self.on_deadline()
        ticker = None
        if on_due is not None:
            ticker = Ticker(self.app, self.deadlines, clock, on_due, self._kick_relay, cache)
        self.worker = Worker(self.consumer.runner(), outbox=self.app, ticker=ticker)
        self.workers = [self.worker]

    @property
    def relay(self) -> OutboxRelay | None:
        return self.worker.relay

    @property
    def store_name(self) -> str:
        """The application's name: its SQLite file or PostgreSQL tables."""
        return self.partition.store_name(self.name)

    # -- to be provided by each service -------------------------------------------------
    def build_app(self) -> ServiceApplication:
        raise NotImplementedError

    def handler(self) -> Handler:
        raise NotImplementedError

    def on_deadline(self) -> OnDeadline | None:
        return None

    def loads(self) -> Loads | None:
        """What the handler will load for an event, looked up a run at a time (optional)."""
        return None

    def handles(self) -> frozenset[str] | None:
        """The event types the handler acts on, from what it dispatches on
        (`events.type_names`): the consumer passes over the others unread. None: all."""
        return None

    # -- running --------------------------------------------------------------------------
    def _kick_relay(self) -> None:
        self.worker.kick_relay()

    async def start(self) -> None:
        await in_thread(self.deadlines.rebuild, self.app)
        await super().start()

    def close(self) -> None:
        close_when_idle(self.app)
