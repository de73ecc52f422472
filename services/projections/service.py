"""Projections' wiring: RETENTION (durable 'projections', or one per partition: `projections-p<k>`,
pull batches) → the read store.

The durable consumer delivers from the store's position + 1 (the store, not the server,
knows what was applied), and only a batch's unbroken run from there is applied
(laoke/durable.py). Each pulled batch is applied in one transaction with its position,
then acked; failures go to `dlq.projections.<reason>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from laoke.clock import Clock
from laoke.consumer import batch_of
from laoke.dlq import dead_letter, send_dead_letters
from laoke.durable import DurableConsumer, stream_sequence, unbroken
from laoke.heap import freeze_heap
from laoke.leases import Lease, take
from laoke.metrics import CONSUMER_LAG, HANDLED, HANDLER_SECONDS
from laoke.partitions import RETENTION_TOKEN, WHOLE, Partition, owned_partitions
from laoke.publishing import Outgoing
from laoke.service import connect, nats_options
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.projections.application import CONSUMER, Failure, Message, Projections
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore

log = logging.getLogger(__name__)


class ProjectionsService:
    """One read store; one durable consumer per partition this replica runs (one in all,
    `projections`, unless LAOKE_PARTITIONS > 1: laoke/partitions.py)."""

    name = "projections"

    def __init__(
        self,
        settings: LaokeSettings,
        clock: Clock,
        projection_settings: ProjectionSettings | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.projection_settings = projection_settings or ProjectionSettings()
        self.store = ReadStore(settings)
        self.partitions = {
            partition: Projections(
                self.store, self.projection_settings, partition.durable(CONSUMER)
            )
            for partition in owned_partitions(settings)
        }
        self.projections = next(iter(self.partitions.values()))  # the only one, unpartitioned
        self.broker = NatsBroker(**nats_options(settings))  # type: ignore[arg-type]
        self.nc: NatsClient | None = None
        self.js: JetStreamContext | None = None
        self.leases: list[Lease] = []
        self._keepers: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        for partition, projections in self.partitions.items():
            self._subscribe(partition, projections)

    def _subscribe(self, partition: Partition, projections: Projections) -> None:
        durable = projections.consumer

        @self.broker.subscriber(
            "retention.>",
            stream=JStream(RETENTION, declare=False),
            durable=durable,
            pull_sub=PullSub(
                batch_size=self.projection_settings.batch_size, timeout=0.05, batch=True
            ),
            ack_policy=AckPolicy.MANUAL,
            title=f"projections/RETENTION/{durable}",
            description=f"Read models of every recorded event (durable '{durable}').",
        )
        async def on_batch(msg: NatsMessage) -> None:
            await self.handle_messages(batch_of(msg), partition, projections)

    async def handle_messages(
        self,
        messages: Sequence[Msg],
        partition: Partition | None = None,
        projections: Projections | None = None,
    ) -> None:
        started = time.perf_counter()
        partition = partition or WHOLE
        projections = projections or self.projections
        position = self.store.position(projections.consumer)  # one consumer: its lease
        run, broken = unbroken(messages, position)
        batch = [
            Message(stream_sequence(m), m.data, m.subject)
            for m in run
            if partition.owns(m.subject, RETENTION_TOKEN)
        ]
        through = stream_sequence(run[-1]) if run else 0
        failures = await asyncio.to_thread(projections.apply_batch, batch, through)
        if failures and self.js is not None:
            await send_dead_letters(self.js, [self._letter(f) for f in failures])
        if broken and self.js is not None:
            await self.durable(projections).resume(self.js, max(position, through))
        elif not broken and messages:  # only now: the batch and its position are committed
            await messages[-1].ack()  # AckAll: acks the whole batch (stream order)
        HANDLED.labels(self.name).inc(len(batch))
        HANDLER_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        if messages:
            CONSUMER_LAG.labels(projections.consumer).set(messages[-1].metadata.num_pending)

    def _letter(self, failure: Failure) -> Outgoing:
        return dead_letter(
            self.name,
            failure.reason,
            failure.error,
            failure.message.data,
            None,
            origin=f"{RETENTION}:{failure.message.seq}",
            subject=failure.message.subject or None,
        )

    @staticmethod
    def durable(projections: Projections) -> DurableConsumer:
        return DurableConsumer(projections.consumer, ack_all=True)  # one ack per batch

    async def prepare(self, js: JetStreamContext) -> None:
        """(Re)create each durable consumer at the first position the store has not applied."""
        self.js = js
        for projections in self.partitions.values():
            position = self.store.position(projections.consumer)
            await self.durable(projections).start_at(js, position)

    async def start(self) -> None:
        self.nc, self.js = await connect(self.settings, f"laoke-{self.name}")
        for projections in self.partitions.values():
            lease = await take(self.js, self.settings, projections.consumer)
            if lease is not None:
                self.leases.append(lease)
        await self.prepare(self.js)
        await self.broker.start()
        freeze_heap()
        self._keepers = [
            asyncio.create_task(lease.keep(self._stopping, self.broker.stop))
            for lease in self.leases
        ]
        for projections in self.partitions.values():
            position = self.store.position(projections.consumer)
            log.info("%s consuming %s from %s", projections.consumer, RETENTION, position + 1)

    async def stop(self) -> None:
        self._stopping.set()
        await self.broker.stop()
        for keeper in self._keepers:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        for lease in self.leases:
            await lease.release()
        if self.nc is not None:
            await self.nc.close()
            self.nc = None
            self.js = None
        self.store.close()
