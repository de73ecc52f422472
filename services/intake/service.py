"""Intake's wiring: `dealer.in.>` (stream DEALER_IN, durable 'intake') → RETENTION / DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from laoke.clock import Clock
from laoke.consumer import batch_of
from laoke.eventstore import ServiceApplication
from laoke.metrics import ACCEPTED, DEAD_LETTERS, DUPLICATES
from laoke.outbox import OutboxRelay
from laoke.service import connect, nats_options
from laoke.settings import LaokeSettings
from laoke.streams import DEALER_IN
from services.intake.application import SERVICE, Inbound, Intake, Verdict
from services.intake.settings import IntakeSettings

log = logging.getLogger(__name__)
DURABLE = "intake"


class IntakeService:
    name = SERVICE

    def __init__(
        self, settings: LaokeSettings, clock: Clock, intake_settings: IntakeSettings | None = None
    ) -> None:
        self.settings = settings
        self.intake_settings = intake_settings or IntakeSettings()
        self.app = ServiceApplication(settings, SERVICE)
        self.intake = Intake(self.app, self.intake_settings, clock)
        self.broker = NatsBroker(**nats_options(settings))  # type: ignore[arg-type]
        self.nc: NatsClient | None = None
        self.relay: OutboxRelay | None = None
        self._stopping = asyncio.Event()
        self._relay_task: asyncio.Task[None] | None = None
        self._subscribe()

    def _subscribe(self) -> None:
        @self.broker.subscriber(
            "dealer.in.>",
            stream=JStream(DEALER_IN, declare=False),
            durable=DURABLE,
            pull_sub=PullSub(batch_size=self.intake_settings.batch_size, timeout=0.05, batch=True),
            ack_policy=AckPolicy.MANUAL,
            title="intake/DEALER_IN",
            description="Inbound events from dealership systems: dealer.in.<dealership_id>.<Type>.",
        )
        async def on_inbound(msg: NatsMessage) -> None:
            await self.handle_messages(batch_of(msg))

    async def handle_messages(self, messages: Sequence[Msg]) -> list[Verdict]:
        batch = [
            Inbound(
                m.data,
                m.subject,
                dict(m.headers or {}),
                f"{DEALER_IN}:{m.metadata.sequence.stream}",
            )
            for m in messages
        ]
        try:
            verdicts = await self.submit(batch)
        except Exception:
            # Not recorded (or not yet published): have JetStream redeliver soon; the
            # event-id receipts make the second attempt record each event once.
            log.exception("intake batch failed; asking for redelivery")
            for message in messages:
                await message.nak(delay=1)
            raise
        for message in messages:
            await message.ack()  # only now: the batch is on RETENTION / in the DLQ
        return verdicts

    async def submit(self, batch: Sequence[Inbound]) -> list[Verdict]:
        """Record a batch and return once it is stored on RETENTION (or dead-lettered)."""
        verdicts = await asyncio.to_thread(self.intake.record_batch, batch)
        await self.flush()
        for verdict in verdicts:
            if verdict.status == "accepted":
                ACCEPTED.labels("all").inc()
            elif verdict.status == "duplicate":
                DUPLICATES.inc()
            else:
                DEAD_LETTERS.labels(SERVICE, verdict.reason or "unknown").inc()
        return verdicts

    async def flush(self) -> None:
        assert self.relay is not None, "start() first"
        await self.relay.drain()

    async def _ensure_consumer(self, js: JetStreamContext) -> None:
        """(Re)create the durable consumer at the first message not yet acknowledged.

        Messages delivered but unacked when intake crashed would otherwise come back only
        after `ack_wait`, behind newer ones, and be recorded out of order. One batch in
        flight at most (`max_ack_pending`) keeps a lost or naked batch ahead of newer ones.
        """
        start = 1
        with contextlib.suppress(NotFoundError):
            info = await js.consumer_info(DEALER_IN, DURABLE)
            start = (info.ack_floor.stream_seq if info.ack_floor else 0) + 1
            await js.delete_consumer(DEALER_IN, DURABLE)
        config = ConsumerConfig(
            durable_name=DURABLE,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=30,
            max_ack_pending=self.intake_settings.batch_size,
            filter_subject="dealer.in.>",
        )
        await js.add_consumer(DEALER_IN, config)

    async def start(self) -> None:
        self.nc, js = await connect(self.settings, f"laoke-{SERVICE}")
        self.relay = OutboxRelay(self.app, js)
        await self.flush()  # what a crash left in the outbox goes out first
        await self._ensure_consumer(js)
        await self.broker.start()
        self._relay_task = asyncio.create_task(self.relay.run(self._stopping, idle_s=5.0))
        log.info("intake consuming %s", DEALER_IN)

    async def stop(self) -> None:
        self._stopping.set()
        await self.broker.stop()
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
        if self.nc is not None:
            await self.nc.close()
        self.app.close()
