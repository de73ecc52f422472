"""Projections' wiring: RETENTION (durable 'projections', or one per partition:
`projections-p<k>`) → the read store; RETENTION_DLQ (`projections-dlq`, `projections-dlq-p<k>`)
→ the dead-letter store (services/projections/deadletters/).

Each store keeps its consumers' positions; the runner (laoke/runner.py) hands over runs
that continue from them. Each run is applied in one transaction with its position, then
acked; failures go to `dlq.projections.<reason>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta

from nats.aio.msg import Msg

from laoke.clock import Clock
from laoke.dlq import dead_letter, send_dead_letters, subject_dealership
from laoke.durable import DurableConsumer, stream_sequence
from laoke.heap import freeze_heap
from laoke.partitions import RETENTION_TOKEN, Partition, owned_partitions
from laoke.publishing import Outgoing
from laoke.runner import StreamConsumer
from laoke.sealing import load_for
from laoke.service import ServiceHost, Worker
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION, RETENTION_DLQ
from laoke.threads import in_thread
from services.projections.application import (
    CONSUMER,
    Failure,
    Message,
    Projections,
)
from services.projections.deadletters.erasure import erasures_in, known_by, sweep
from services.projections.deadletters.store import CONSUMER as LETTERS_CONSUMER
from services.projections.deadletters.store import DeadLetterStore, Letter, apply_letters
from services.projections.gauges import EVERY_S, WorkGauges
from services.projections.queries.classes import ClassCounts
from services.projections.settings import ProjectionSettings
from services.projections.store import ReadStore

log = logging.getLogger(__name__)


class ProjectionsService(ServiceHost):
    """One read store; one durable consumer per partition this replica runs (one in all,
    `projections`, unless LAOKE_PARTITIONS > 1: laoke/partitions.py)."""

    name = "projections"

    def __init__(
        self,
        settings: LaokeSettings,
        clock: Clock,
        projection_settings: ProjectionSettings | None = None,
    ) -> None:
        super().__init__(settings, clock)
        self.projection_settings = projection_settings or ProjectionSettings()
        self.store = ReadStore(settings, classes=self.projection_settings.classes)
        self.partitions = {
            partition: Projections(
                self.store, self.projection_settings, partition.durable(CONSUMER), self.keyring
            )
            for partition in owned_partitions(settings)
        }
        self.projections = next(iter(self.partitions.values()))  # the only one, unpartitioned
        self.dead_letters = DeadLetterStore(settings)
        self.workers = [Worker(self._consumer(p, pr)) for p, pr in self.partitions.items()]
        self.workers += [Worker(self._letters_consumer(p)) for p in self.partitions]
        self.gauges = WorkGauges(self.store)
        max_age = timedelta(seconds=self.projection_settings.classes_max_age_s)
        self.class_counts = ClassCounts(self.store, self.projection_settings.classes, max_age)

    def _consumer(self, partition: Partition, projections: Projections) -> StreamConsumer:
        async def apply(run: Sequence[Msg]) -> None:
            await self.apply(run, partition, projections)

        return StreamConsumer(
            self.name,
            DurableConsumer(projections.consumer, ack_all=True),  # one ack per batch
            lambda: self.store.position(projections.consumer),
            apply,
            self.projection_settings.batch_size,
        )

    def _letters_consumer(self, partition: Partition) -> StreamConsumer:
        durable = partition.durable(LETTERS_CONSUMER)

        async def apply(run: Sequence[Msg]) -> None:
            letters = [Letter.of(m) for m in run]
            through = letters[-1].seq
            await in_thread(apply_letters, self.dead_letters, letters, partition, through)

        return StreamConsumer(
            self.name,
            DurableConsumer(durable, stream=RETENTION_DLQ, filter_subject="dlq.>", ack_all=True),
            lambda: self.dead_letters.position(durable),
            apply,
            self.projection_settings.batch_size,
        )

    async def apply(
        self, run: Sequence[Msg], partition: Partition, projections: Projections
    ) -> None:
        """Apply this partition's messages of the run; the position moves to its end."""
        batch = [
            Message(stream_sequence(m), m.data, m.subject)
            for m in run
            if partition.owns(m.subject, RETENTION_TOKEN)
        ]
        through = stream_sequence(run[-1])
        await load_for(self.keyring, batch)
        erased = [  # what they are known by, read before their erasure is applied
            await in_thread(known_by, self.store, dealership, ids)
            for dealership, ids in erasures_in([(m.subject, m.data) for m in batch])
        ]
        failures = await in_thread(projections.apply_batch, batch, through)
        if failures and self.nc is not None:
            await send_dead_letters(self.nc, [self._letter(f) for f in failures])
        for customer in erased:
            assert self.nc is not None
            await sweep(self.nc.jetstream(), self.dead_letters, customer)

    def _letter(self, failure: Failure) -> Outgoing:
        return dead_letter(
            self.name,
            failure.reason,
            failure.error,
            failure.message.data,
            None,
            origin=f"{RETENTION}:{failure.message.seq}",
            subject=failure.message.subject or None,
            dealership=subject_dealership(failure.message.subject, RETENTION_TOKEN),
        )

    async def start(self) -> None:
        await super().start()
        self._beside_task(self._keep_gauges())
        freeze_heap()

    async def _keep_gauges(self) -> None:
        """Open and escalated complaints, follow-ups due: on /metrics (gauges.py)."""
        while not self._stopping.is_set():
            try:
                await in_thread(self.gauges.refresh, self.clock.now())
                await in_thread(self.class_counts.refresh, self.clock.now())
            except Exception:  # the store busy or gone for a moment: the next round
                log.warning("could not count the work in hand", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), EVERY_S)

    def close(self) -> None:
        self.store.close()
        self.dead_letters.close()
