"""Intake's wiring: `dealer.in.>` (stream DEALER_IN, durable 'intake') → RETENTION / DLQ;
the ticker firing the retention limit's deadlines (deadlines.py).

With LAOKE_PARTITIONS > 1 each partition this replica runs is an `IntakeShard`: its own
store (identities, receipts, outbox), relay and durable consumer (`intake-p<k>`), all the
dealerships of that partition (laoke/partitions.py). An event posted over HTTP for a
dealership another replica runs is validated here and forwarded to DEALER_IN for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eventsourcing.persistence import Tracking
from nats.aio.msg import Msg

from events import Rejected, parse_inbound
from laoke.clock import Clock
from laoke.deadlines import DeadlineIndex, Ticker
from laoke.durable import DurableConsumer, stream_sequence, stream_timestamp
from laoke.eventstore import ServiceApplication
from laoke.metrics import ACCEPTED, DEAD_LETTERS, DUPLICATES
from laoke.outbox import OutboxRelay
from laoke.partitions import DEALER_IN_TOKEN, Partition, owned_partitions, partition_of
from laoke.publishing import Outgoing, publish_all
from laoke.runner import StreamConsumer
from laoke.service import ServiceHost, Worker, close_when_idle
from laoke.settings import LaokeSettings
from laoke.streams import DEALER_IN
from laoke.threads import in_thread
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
    deadlines: DeadlineIndex = field(default_factory=DeadlineIndex, repr=False)
    worker: Worker | None = field(default=None, repr=False)
    # The last recorded batch, published to RETENTION while the next one is recorded.
    publishing: asyncio.Task[bool] | None = field(default=None, repr=False)

    @property
    def durable(self) -> str:
        return self.partition.durable(DURABLE)

    @property
    def relay(self) -> OutboxRelay | None:
        return self.worker.relay if self.worker is not None else None


class IntakeService(ServiceHost):
    name = SERVICE
    relay_idle_s = 5.0  # intake kicks its relay after every batch it records

    def __init__(
        self, settings: LaokeSettings, clock: Clock, intake_settings: IntakeSettings | None = None
    ) -> None:
        super().__init__(settings, clock)
        self.intake_settings = intake_settings or IntakeSettings()
        self.shards: dict[int, IntakeShard] = {}
        for partition in owned_partitions(settings):
            app = ServiceApplication(settings, partition.store_name(SERVICE))
            intake = Intake(app, self.intake_settings, clock, self.keyring.identity_secret)
            shard = IntakeShard(partition, app, intake)
            app.observers.append(shard.deadlines.observe)
            shard.worker = Worker(self._consumer(shard), outbox=app, ticker=self._ticker(shard))
            self.shards[partition.index] = shard
        first = next(iter(self.shards.values()))
        self.app, self.intake = first.app, first.intake  # the only ones, unpartitioned
        self.workers = [shard.worker for shard in self.shards.values() if shard.worker]

    def _ticker(self, shard: IntakeShard) -> Ticker:
        """Fires the shard's retention deadlines (deadlines.py), through intake's own cache
        so that the batches after an erasure see it."""

        def kick() -> None:
            if shard.worker is not None:
                shard.worker.kick_relay()

        intake = shard.intake
        return Ticker(
            shard.app, shard.deadlines, self.clock, intake.on_deadline, kick, cache=intake.cache
        )

    async def start(self) -> None:
        for shard in self.shards.values():
            await in_thread(shard.deadlines.rebuild, shard.app, shard.intake.fires_at)
        await super().start()

    def _consumer(self, shard: IntakeShard) -> StreamConsumer:
        async def apply(run: Sequence[Msg]) -> None:
            await self.handle_messages(run, shard)

        return StreamConsumer(
            self.name,
            DurableConsumer(  # one ack a batch, as RETENTION's consumers (laoke/consumer.py)
                shard.durable, stream=DEALER_IN, filter_subject="dealer.in.>", ack_all=True
            ),
            lambda: shard.app.tracked_position(shard.durable),
            apply,
            self.intake_settings.batch_size,
        )

    async def handle_messages(
        self, messages: Sequence[Msg], shard: IntakeShard | None = None
    ) -> list[Verdict]:
        """Record a run of DEALER_IN messages with the position it reaches (one transaction:
        receipts, identities, outbox, position), so a crash re-reads nothing recorded."""
        shard = shard or next(iter(self.shards.values()))
        own = [m for m in messages if shard.partition.owns(m.subject, DEALER_IN_TOKEN)]
        wall = datetime.now(UTC)  # the age of each message in DEALER_IN: when it reached laoke
        batch = [
            Inbound(
                m.data,
                m.subject,
                dict(m.headers or {}),
                f"{DEALER_IN}:{stream_sequence(m)}",
                waited=wall - stream_timestamp(m),
            )
            for m in own
        ]
        tracking = Tracking(shard.durable, stream_sequence(messages[-1])) if messages else None
        return await self._record(shard, batch, published=False, tracking=tracking)

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
            assert self.nc is not None, "start() first"
            await publish_all(self.nc, [message for _, message in forwards])
            for i, message in forwards:
                verdicts[i] = Verdict("queued", message.headers["Nats-Msg-Id"])
        return [v for v in verdicts if v is not None]

    def _route(self, inbound: Inbound) -> int | Outgoing:
        """The local shard for this event, or the message forwarding it to DEALER_IN. What
        does not parse, or was refused at the door, stays here: any shard rejects it the same
        way."""
        if inbound.refusal is not None:
            return next(iter(self.shards))
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
        self,
        shard: IntakeShard,
        batch: Sequence[Inbound],
        published: bool = True,
        tracking: Tracking | None = None,
    ) -> list[Verdict]:
        """Record a batch (one transaction: receipts, identities, outbox, and `tracking`,
        the DEALER_IN position it reaches when it came from there). With `published`,
        return once the outbox is on RETENTION. Without, the relay publishes it while the
        next batch is recorded (acking the inbound messages needs only the commit: the
        outbox publishes in commit order, after a crash too); the previous batch's publish
        is awaited (retried once) before returning, so at most two batches wait in the
        outbox and a RETENTION that refuses writes stops intake."""
        verdicts = await in_thread(shard.intake.record_batch, batch, tracking)
        relay = shard.relay
        assert relay is not None, "start() first"
        previous, shard.publishing = shard.publishing, None
        if previous is not None and not await previous:
            await relay.drain()  # raises if RETENTION still refuses: intake pauses
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

    async def drain(self) -> None:
        for shard in self.shards.values():
            if shard.publishing is not None:
                await shard.publishing

    def close(self) -> None:
        for shard in self.shards.values():
            close_when_idle(shard.app)
