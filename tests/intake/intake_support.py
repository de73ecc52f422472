"""Helpers for intake's tests: run intake, publish inbound events, read the streams back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from nats.js import JetStreamContext
from waiting import wait_for

from events import parse_recorded
from events.factories import sample_inbound


async def stream_count(js: JetStreamContext, stream: str) -> int:
    info = await js.stream_info(stream)
    return int(info.state.messages)


async def wait_count(js: JetStreamContext, stream: str, count: int, timeout: float = 20.0) -> None:
    async def reached() -> bool:
        return await stream_count(js, stream) >= count

    await wait_for(reached, timeout, f"{count} messages on {stream}")


@dataclass
class StoredMessage:
    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes

    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.data)
        return loaded


async def read_stream(js: JetStreamContext, stream: str) -> list[StoredMessage]:
    """Every message of the stream, in order (direct reads by sequence)."""
    info = await js.stream_info(stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(stream, seq)
        found.append(
            StoredMessage(seq, msg.subject or "", dict(msg.headers or {}), msg.data or b"")
        )
    return found


def inbound(event_type: str, **overrides: Any) -> dict[str, Any]:
    """A valid inbound event with a fresh id (samples are otherwise deterministic)."""
    return sample_inbound(event_type, **({"event_id": str(uuid4())} | overrides))


async def publish(js: JetStreamContext, event: dict[str, Any]) -> None:
    subject = f"dealer.in.{event['dealership_id']}.{event['event_type']}"
    await js.publish(subject, json.dumps(event, ensure_ascii=False).encode())


def recorded_types(messages: list[StoredMessage]) -> list[str]:
    return [parse_recorded(m.data).event_type for m in messages]
