"""Shared helpers of the complaints tests: recorded events, waiting, reading RETENTION."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from nats.js import JetStreamContext
from waiting import wait_for

from events import EVENT_TYPES, CustomersMerged, Event, parse_recorded
from events.factories import sample_inbound, sample_recorded
from laoke.streams import RETENTION

T0 = datetime.fromisoformat("2026-01-20T10:00:00+00:00")  # the `clock` fixture's start
CUSTOMER = "c-1"


def at(**delta: float) -> str:
    return (T0 + timedelta(**delta)).isoformat()


def inbound(event_type: str, complaint_id: str = "CP-1", **overrides: Any) -> dict[str, Any]:
    """A valid inbound event about `complaint_id` (any type with a complaint_id field)."""
    fields = {"event_id": str(uuid4()), "occurred_at": T0.isoformat(), **overrides}
    if "complaint_id" in EVENT_TYPES[event_type].model_fields:
        fields["complaint_id"] = complaint_id
    return sample_inbound(event_type, **fields)


def recorded(event_type: str, complaint_id: str = "CP-1", **overrides: Any) -> Any:
    """The event as intake records it on RETENTION (customer and audit ids set)."""
    raw = inbound(event_type, complaint_id, **overrides)
    raw.setdefault("customer_id", CUSTOMER)
    raw["correlation_id"] = raw["causation_id"] = raw["event_id"]
    return EVENT_TYPES[event_type].model_validate(raw, context={"trusted": True})


def merge(survivor_id: str, *merged_ids: str, **overrides: Any) -> CustomersMerged:
    """`CustomersMerged` as intake records it: `merged_ids` are now `survivor_id`."""
    raw = sample_recorded(
        "CustomersMerged",
        event_id=str(uuid4()),
        occurred_at=T0.isoformat(),
        source="intake",
        customer_id=survivor_id,
        survivor_id=survivor_id,
        merged_ids=list(merged_ids),
        **overrides,
    )
    raw["dealership_id"] = inbound("ComplaintFiled")["dealership_id"]
    return CustomersMerged.model_validate(raw, context={"trusted": True})


async def read_retention(js: JetStreamContext) -> list[Event]:
    """Everything on RETENTION, in stream order."""
    info = await js.stream_info(RETENTION)
    found: list[Event] = []
    if not info.state.messages:
        return found
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(RETENTION, seq)
        assert message.data is not None
        found.append(parse_recorded(message.data))
    return found


async def retention_subjects(js: JetStreamContext) -> dict[str, str]:
    """Every RETENTION message's subject by its event id (the Nats-Msg-Id)."""
    info = await js.stream_info(RETENTION)
    subjects: dict[str, str] = {}
    if not info.state.messages:
        return subjects
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(RETENTION, seq)
        assert message.data is not None and message.subject is not None
        subjects[str(parse_recorded(message.data).event_id)] = message.subject
    return subjects


def of_type(events: list[Event], event_type: str, **where: Any) -> list[Any]:
    return [
        e
        for e in events
        if e.event_type == event_type and all(getattr(e, k) == v for k, v in where.items())
    ]


async def publish(js: JetStreamContext, event: dict[str, Any]) -> None:
    """Send an inbound event the way a dealership system does."""
    subject = f"dealer.in.{event['dealership_id']}.{event['event_type']}"
    await js.publish(subject, json.dumps(event, ensure_ascii=False).encode())


async def wait_recorded(
    js: JetStreamContext, event_type: str, count: int = 1, timeout: float = 10.0, **where: Any
) -> list[Any]:
    """Wait until RETENTION holds `count` events of `event_type` matching `where`."""

    async def found() -> list[Any]:
        matching = of_type(await read_retention(js), event_type, **where)
        return matching if len(matching) >= count else []

    return list(await wait_for(found, timeout, f"{count} × {event_type} {where}"))
