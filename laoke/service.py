"""The life cycle every RETENTION-consuming service shares: connect, consume, relay, tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable

import nats
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from laoke.clock import Clock
from laoke.compat import catch_builtin_fetch_timeouts, tolerate_undecodable_bodies
from laoke.consumer import Handler, RetentionConsumer
from laoke.deadlines import Deadline, DeadlineIndex, Ticker
from laoke.eventstore import ServiceApplication
from laoke.leases import Lease, take
from laoke.outbox import OutboxRelay
from laoke.partitions import Partition, owned_partitions
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION, ensure_streams

log = logging.getLogger(__name__)
catch_builtin_fetch_timeouts()  # every service (intake too) imports this module
tolerate_undecodable_bodies()


def close_when_idle(app: ServiceApplication) -> None:
    """Close the store once no worker thread uses it: the thread of a cancelled task (the
    ticker firing a deadline, a batch being recorded) runs on, holding `app.lock`, until
    it is done; closing under it raised "pool is closed" (once a segfault on SQLite)."""
    with app.lock:
        app.close()


def nats_options(settings: LaokeSettings) -> dict[str, object]:
    """Options that both `nats.connect` and faststream's `NatsBroker` take."""
    servers = (settings.nats_url or f"nats://127.0.0.1:{settings.nats_port}").split(",")
    options: dict[str, object] = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.5}
    if settings.nats_user:
        # In the URLs (NatsBroker takes no user/password); subscribe only under its own
        # inbox prefix (laoke/natsauth.py).
        servers = [with_user(url, settings.nats_user, settings.nats_password) for url in servers]
        options["inbox_prefix"] = f"_INBOX.{settings.nats_user}"
    return options | {"servers": servers}


def with_user(url: str, user: str, password: str | None) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._~-]*", f"{user}{password or ''}"):
        raise ValueError("NATS user and password must be URL-safe ([A-Za-z0-9._~-])")
    scheme, _, rest = url.strip().rpartition("://")
    host = rest.rpartition("@")[2]
    return f"{scheme or 'nats'}://{user}:{password or ''}@{host}"


async def connect(settings: LaokeSettings, name: str) -> tuple[NatsClient, JetStreamContext]:
    nc = await nats.connect(name=name, **nats_options(settings))  # type: ignore[arg-type]
    js = nc.jetstream()
    await ensure_streams(js, settings.stream_replicas, settings.retention_dedupe_window_s)
    return nc, js


class RetentionService:
    """A service = an application, a consumer of RETENTION, an outbox relay and a ticker.

    Subclasses build the application, the handler and the deadline callback; this class
    runs them. `start()` returns once everything is consuming; `stop()` ends it cleanly.
    An instance runs one partition (laoke/partitions.py): the registry makes one each.
    """

    name = "service"
    one_partition_each = True  # laoke.registry: one instance per partition owned

    def __init__(self, settings: LaokeSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        partitions = owned_partitions(settings)
        if len(partitions) != 1:
            raise ValueError(f"{self.name}: one partition per instance, not {len(partitions)}")
        self.partition: Partition = partitions[0]
        self.app = self.build_app()
        self.deadlines = DeadlineIndex()
        self.app.observers.append(self.deadlines.observe)
        self.broker = NatsBroker(**nats_options(settings))  # type: ignore[arg-type]
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.nc: NatsClient | None = None
        self.relay: OutboxRelay | None = None
        self.lease: Lease | None = None
        self.consumer = RetentionConsumer(
            self.name,
            self.app,
            self.handler(),
            on_committed=self._kick_relay,
            partition=self.partition,
        )
        self.consumer.subscribe(self.broker)

    @property
    def store_name(self) -> str:
        """The application's name: its SQLite file or PostgreSQL tables."""
        return self.partition.store_name(self.name)

    # -- to be provided by each service -------------------------------------------------
    def build_app(self) -> ServiceApplication:
        raise NotImplementedError

    def handler(self) -> Handler:
        raise NotImplementedError

    def on_deadline(self) -> Callable[[Deadline], None] | None:
        return None

    # -- running --------------------------------------------------------------------------
    def _kick_relay(self) -> None:
        if self.relay is not None:
            self.relay.kick()

    async def start(self) -> None:
        await asyncio.to_thread(self.deadlines.rebuild, self.app)
        self.nc, js = await connect(self.settings, f"laoke-{self.name}")
        self.lease = await take(js, self.settings, self.consumer.durable)
        self.relay = OutboxRelay(self.app, js)
        await self.consumer.prepare(js)
        backlog_end = (await js.stream_info(RETENTION)).state.last_seq
        await self.broker.start()
        self._tasks.append(asyncio.create_task(self.relay.run(self._stopping)))
        if self.lease is not None:
            keep = self.lease.keep(self._stopping, self.broker.stop)
            self._tasks.append(asyncio.create_task(keep))
        on_due = self.on_deadline()
        if on_due is not None:
            ticker = Ticker(self.app, self.deadlines, self.clock, on_due, self._kick_relay)
            self._tasks.append(asyncio.create_task(self._tick_after(backlog_end, ticker)))
        log.info("%s started", self.name)

    async def _tick_after(self, backlog_end: int, ticker: Ticker) -> None:
        """Fire deadlines only once the backlog at start is handled: an apology already on
        the stream must cancel its deadline before the deadline can fire."""
        while self.app.tracked_position(self.consumer.durable) < backlog_end:
            if self._stopping.is_set():
                return
            await asyncio.sleep(0.02)
        await ticker.run(self._stopping)

    async def stop(self) -> None:
        self._stopping.set()
        await self.broker.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.relay is not None:
            with contextlib.suppress(Exception):
                await self.relay.drain()
        if self.lease is not None:
            await self.lease.release()
        if self.nc is not None:
            await self.nc.close()
        await asyncio.to_thread(close_when_idle, self.app)
