"""Pipelined JetStream publishing: send in order, then await all acks together."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.api import PubAck


@dataclass(frozen=True)
class Outgoing:
    subject: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


async def publish_all(
    js: JetStreamContext, messages: Sequence[Outgoing], timeout: float = 10.0
) -> list[PubAck]:
    """Publish every message (in order on the wire) and wait until each is stored.

    Raises if any publish was not acknowledged: the caller retries the whole lot, and
    JetStream's dedupe (Nats-Msg-Id) drops the ones that did get through.
    """
    futures = [
        await js.publish_async(m.subject, m.body, headers=dict(m.headers) or None) for m in messages
    ]
    acks = await asyncio.wait_for(asyncio.gather(*futures), timeout)
    return list(acks)
