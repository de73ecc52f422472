"""Reading RETENTION (or RETENTION_DLQ) straight from the stream (audit, rebuild, an erasure's
sweep of the dead letters): an ephemeral pull consumer
that acks nothing (AckPolicy NONE) and ends when nothing is pending."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from laoke.streams import RETENTION


async def last_sequence(js: JetStreamContext) -> int:
    info = await js.stream_info(RETENTION)
    return int(info.state.last_seq)


async def read_stream(
    js: JetStreamContext,
    filter_subject: str = "retention.>",
    *,
    start_seq: int = 1,
    batch: int = 1000,
    stream: str = RETENTION,
) -> AsyncIterator[list[Msg]]:
    """Yield batches of messages in stream order, from `start_seq` to what is there now."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=max(1, start_seq),
        ack_policy=AckPolicy.NONE,
        filter_subject=filter_subject,
        inactive_threshold=30.0,
        mem_storage=True,
        num_replicas=1,
        max_waiting=1,
    )
    sub = await js.pull_subscribe(filter_subject, stream=stream, config=config)
    name: str | None = None
    try:
        info = await sub.consumer_info()
        name = info.name
        pending = int(info.num_pending or 0)
        while pending > 0:
            try:
                messages = await sub.fetch(min(batch, pending), timeout=5.0)
            except NatsTimeoutError:
                info = await sub.consumer_info()
                pending = int(info.num_pending or 0)
                continue
            if not messages:
                continue
            yield messages
            pending = int(messages[-1].metadata.num_pending)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        if name is not None:
            with contextlib.suppress(Exception):
                await js.delete_consumer(stream, name)
