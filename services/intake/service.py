"""Intake's wiring: `dealer.in.>` (stream DEALER_IN, durable 'intake') → RETENTION / DLQ.

With LAOKE_PARTITIONS > 1 each partition this replica runs is an `IntakeShard`: its own
store (identities, receipts, outbox), relay and durable consumer (`intake-p<k>`), all the
dealerships of that partition (laoke/partitions.py). An event posted over HTTP for a
dealership another replica runs is validated here and forwarded to DEALER_IN for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from events import Rejected, parse_inbound
from laoke.clock import Clock
from laoke.consumer import batch_of
from laoke.eventstore import ServiceApplication
from laoke.leases import Lease, take
from laoke.metrics import ACCEPTED, CONSUMER_LAG, DEAD_LETTERS, DUPLICATES
from laoke.outbox import OutboxRelay
from laoke.partitions import DEALER_IN_TOKEN, Partition, owned_partitions, partition_of
from laoke.publishing import Outgoing, publish_all
from laoke.service import close_when_idle, connect, nats_options
from laoke.settings import LaokeSettings
from laoke.streams import DEALER_IN
from services.intake.application import SERVICE, Inbound, Intake, Verdict
from services.intake.settings import IntakeSettings

log = logging.getLogger(__name__)
DURABLE = "intake"


@dataclass
class IntakeShard:
    """One partition of intake (the whole of it, unpartitioned)."""

    partition: Partition
    app: ServiceApplication
    intake: Intake
    relay: OutboxRelay | None = None
    lease: Lease | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list, repr=False)
    # The last recorded batch, published to RETENTION while the next one is recorded.
    publishing: asyncio.Task[bool] | None = field(default=None, repr=False)

    @property
    def durable(self) -> str:
        return self.partition.durable(DURABLE)


async def _undecoded(message: NatsMessage) -> None:
    """faststream would JSON-decode every body of a batch first: intake parses the bytes."""
    return None


class IntakeService:
    name = SERVICE

    def __init__(
        self, settings: LaokeSettings, clock: Clock, intake_settings: IntakeSettings | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.intake_settings = intake_settings or IntakeSettings()
        self.shards: dict[int, IntakeShard] = {}
        for partition in owned_partitions(settings):
            app = ServiceApplication(settings, partition.store_name(SERVICE))
            intake = Intake(app, self.intake_settings, clock)
            self.shards[partition.index] = IntakeShard(partition, app, intake)
        first = next(iter(self.shards.values()))
        self.app, self.intake = first.app, first.intake  # the only ones, unpartitioned
        self.broker = NatsBroker(**nats_options(settings))  # type: ignore[arg-type]
        self.nc: NatsClient | None = None
        self.js: JetStreamContext | None = None
        self._stopping = asyncio.Event()
        for shard in self.shards.values():
            self._subscribe(shard)

    def _subscribe(self, shard: IntakeShard) -> None:
        @self.broker.subscriber(
            "dealer.in.>",
            stream=JStream(DEALER_IN, declare=False),
            durable=shard.durable,
            pull_sub=PullSub(batch_size=self.intake_settings.batch_size, timeout=0.05, batch=True),
            ack_policy=AckPolicy.MANUAL,
            decoder=_undecoded,
            title=f"intake/DEALER_IN/{shard.durable}",
            description="Inbound events from dealership systems: dealer.in.<dealership_id>.<Type>.",
        )
        async def on_inbound(msg: NatsMessage) -> None:
            await self.handle_messages(batch_of(msg), shard)

    async def handle_messages(
        self, messages: Sequence[Msg], shard: IntakeShard | None = None
    ) -> list[Verdict]:
        shard = shard or next(iter(self.shards.values()))
        own = [m for m in messages if shard.partition.owns(m.subject, DEALER_IN_TOKEN)]
        batch = [
            Inbound(
                m.data,
                m.subject,
                dict(m.headers or {}),
                f"{DEALER_IN}:{m.metadata.sequence.stream}",
            )
            for m in own
        ]
        try:
            verdicts = await self._record(shard, batch, published=False) if batch else []
        except Exception:
            # Not recorded: have JetStream redeliver soon, ahead of anything newer (one batch
            # in flight, `_ensure_consumer`); the event-id receipts make a second attempt
            # record each event once.
            log.exception("intake batch failed; asking for redelivery")
            for message in messages:
                await message.nak(delay=1)
            raise
        for message in messages:
            await message.ack()  # the batch is committed to the outbox, RETENTION's order
        if messages:
            CONSUMER_LAG.labels(shard.durable).set(messages[-1].metadata.num_pending)
        return verdicts

    async def submit(self, batch: Sequence[Inbound]) -> list[Verdict]:
        """Record a batch and return once it is stored on RETENTION (or dead-lettered).
        Events of a partition another replica runs are forwarded to it (status `queued`)."""
        if len(self.shards) == 1 and next(iter(self.shards.values())).partition.whole:
            return await self._record(next(iter(self.shards.values())), batch)
        verdicts: list[Verdict | None] = [None] * len(batch)
        local: dict[int, list[int]] = {}
        forwards: list[tuple[int, Outgoing]] = []
        for index, inbound in enumerate(batch):
            target = self._route(inbound)
            if isinstance(target, Outgoing):
                forwards.append((index, target))
            else:
                local.setdefault(target, []).append(index)
        for shard_index, indexes in local.items():
            recorded = await self._record(self.shards[shard_index], [batch[i] for i in indexes])
            for i, verdict in zip(indexes, recorded, strict=True):
                verdicts[i] = verdict
        if forwards:
            assert self.js is not None, "start() first"
            await publish_all(self.js, [message for _, message in forwards])
            for i, message in forwards:
                verdicts[i] = Verdict("queued", message.headers["Nats-Msg-Id"])
        return [v for v in verdicts if v is not None]

    def _route(self, inbound: Inbound) -> int | Outgoing:
        """The local shard for this event, or the message forwarding it to DEALER_IN. What
        does not parse stays here: any shard rejects it the same way."""
        try:
            event = parse_inbound(inbound.data, inbound.subject, now=self.clock.now())
        except Rejected:
            return next(iter(self.shards))
        index = partition_of(event.dealership_id, self.settings.partitions)
        if index in self.shards:
            return index
        subject = f"dealer.in.{event.dealership_id}.{event.event_type}"
        headers = {**(inbound.headers or {}), "Nats-Msg-Id": str(event.event_id)}
        return Outgoing(subject, inbound.data, headers)

    async def _record(
        self, shard: IntakeShard, batch: Sequence[Inbound], published: bool = True
    ) -> list[Verdict]:
        """Record a batch (one transaction: receipts, identities, outbox). With `published`,
        return once the outbox is on RETENTION. Without, the relay publishes it while the
        next batch is recorded (acking the inbound messages needs only the commit: the
        outbox publishes in commit order, after a crash too); the previous batch's publish
        is awaited (retried once) before returning, so at most two batches wait in the
        outbox and a RETENTION that refuses writes stops intake."""
        verdicts = await asyncio.to_thread(shard.intake.record_batch, batch)
        relay = shard.relay
        assert relay is not None, "start() first"
        previous, shard.publishing = shard.publishing, None
        if previous is not None and not await previous:
            await relay.drain()  # raises if RETENTION still refuses: the caller naks
        if published:
            await relay.drain()
        else:
            shard.publishing = asyncio.create_task(self._publish(relay))
        for verdict in verdicts:
            if verdict.status == "accepted":
                ACCEPTED.labels("all").inc()
            elif verdict.status == "duplicate":
                DUPLICATES.inc()
            else:
                DEAD_LETTERS.labels(SERVICE, verdict.reason or "unknown").inc()
        return verdicts

    async def _publish(self, relay: OutboxRelay) -> bool:
        """Publish the outbox; False (and the relay's own loop retries) when it failed."""
        try:
            await relay.drain()
        except Exception:
            log.exception("publishing intake's outbox failed; retrying")
            relay.kick()
            return False
        return True

    async def flush(self) -> None:
        for shard in self.shards.values():
            assert shard.relay is not None, "start() first"
            await shard.relay.drain()

    async def _ensure_consumer(self, js: JetStreamContext, shard: IntakeShard) -> None:
        """(Re)create the durable consumer at the first message not yet acknowledged.

        Messages delivered but unacked when intake crashed would otherwise come back only
        after `ack_wait`, behind newer ones, and be recorded out of order. One batch in
        flight at most (`max_ack_pending`) keeps a lost or naked batch ahead of newer ones.
        """
        start = 1
        with contextlib.suppress(NotFoundError):
            info = await js.consumer_info(DEALER_IN, shard.durable)
            start = (info.ack_floor.stream_seq if info.ack_floor else 0) + 1
            await js.delete_consumer(DEALER_IN, shard.durable)
        config = ConsumerConfig(
            durable_name=shard.durable,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=30,
            max_ack_pending=self.intake_settings.batch_size,
            filter_subject="dealer.in.>",
        )
        await js.add_consumer(DEALER_IN, config)

    async def start(self) -> None:
        self.nc, self.js = await connect(self.settings, f"laoke-{SERVICE}")
        for shard in self.shards.values():
            shard.lease = await take(self.js, self.settings, shard.durable)
            shard.relay = OutboxRelay(shard.app, self.js)
            await shard.relay.drain()  # what a crash left in the outbox goes out first
            await self._ensure_consumer(self.js, shard)
        await self.broker.start()
        for shard in self.shards.values():
            assert shard.relay is not None
            shard.tasks.append(asyncio.create_task(shard.relay.run(self._stopping, idle_s=5.0)))
            if shard.lease is not None:
                keep = shard.lease.keep(self._stopping, self.broker.stop)
                shard.tasks.append(asyncio.create_task(keep))
        durables = ", ".join(shard.durable for shard in self.shards.values())
        log.info("intake consuming %s (%s)", DEALER_IN, durables)

    async def stop(self) -> None:
        self._stopping.set()
        await self.broker.stop()
        for shard in self.shards.values():
            if shard.publishing is not None:
                await shard.publishing
            for task in shard.tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if shard.lease is not None:
                await shard.lease.release()
        if self.nc is not None:
            await self.nc.close()
        for shard in self.shards.values():
            await asyncio.to_thread(close_when_idle, shard.app)
