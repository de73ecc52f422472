"""A small RetentionService whose handler fails on chosen events, and stream helpers."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from typing import Any

from nats.js import JetStreamContext

from events import Event, retention_subject
from events.factories import sample_inbound
from laoke.clock import Clock
from laoke.consumer import Handler
from laoke.eventstore import ServiceApplication
from laoke.service import RetentionService
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from laoke.work import UnitOfWork


class PoisonedService(RetentionService):
    """Handles every event (or those of the types `handled` names) by noting it; raises on
    the event ids in `poison`.

    `attempts` counts calls per event id (retries included), across instances sharing it.
    """

    name = "poisoned"

    def __init__(
        self,
        settings: LaokeSettings,
        clock: Clock,
        poison: set[str],
        attempts: Counter[str] | None = None,
        handled: frozenset[str] | None = None,
    ) -> None:
        self.poison = poison
        self.handled = handled
        self.attempts: Counter[str] = attempts if attempts is not None else Counter()
        self._counting = threading.Lock()  # the handler runs in a worker thread
        super().__init__(settings, clock)

    def build_app(self) -> ServiceApplication:
        return ServiceApplication(self.settings, self.name)

    def handler(self) -> Handler:
        def handle(work: UnitOfWork, event: Event) -> None:
            key = str(event.event_id)
            with self._counting:
                self.attempts[key] += 1
            if key in self.poison:
                raise RuntimeError(f"boom on {key}: cannot handle this one")

        return handle

    def handles(self) -> frozenset[str] | None:
        return self.handled

    def position(self) -> int:
        return self.app.tracked_position(self.consumer.durable)


def recorded(event_type: str = "CustomerVisited", **overrides: Any) -> dict[str, Any]:
    """A valid recorded event (as intake would record it) with a fresh id."""
    event_id = str(uuid.uuid4())
    event = sample_inbound(event_type, event_id=event_id, **overrides)
    return event | {
        "customer_id": "c-demo-0001",
        "correlation_id": event_id,
        "causation_id": event_id,
    }


def subject_of(event: dict[str, Any]) -> str:
    return retention_subject(event["dealership_id"], event["customer_id"], event["event_type"])


async def put(js: JetStreamContext, subject: str, body: bytes, msg_id: str | None = None) -> int:
    """Publish onto RETENTION; return the stream position."""
    ack = await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id or str(uuid.uuid4())})
    assert ack.stream == RETENTION
    return int(ack.seq)


async def put_event(js: JetStreamContext, event: dict[str, Any]) -> int:
    return await put(js, subject_of(event), json.dumps(event).encode(), event["event_id"])


async def count(js: JetStreamContext, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)
