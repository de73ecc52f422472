"""Building recorded events as intake would put them on RETENTION, and waiting politely."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from events import EVENT_TYPES, Event
from events.factories import sample_inbound, sample_recorded

CUSTOMER = "c-0001"
DEALER = "demo-4s"


def recorded(event_type: str, /, customer_id: str = CUSTOMER, **overrides: Any) -> Event:
    """An inbound sample as intake records it (customer_id and audit links set)."""
    data = sample_inbound(event_type, **overrides)
    data["customer_id"] = customer_id
    data["correlation_id"] = data["causation_id"] = data["event_id"]
    return EVENT_TYPES[event_type].model_validate(data, context={"trusted": True})


def decision_from(event_type: str, /, customer_id: str = CUSTOMER, **overrides: Any) -> Event:
    """A recorded-only event another service recorded (e.g. a complaint call-back)."""
    data = sample_recorded(event_type, customer_id=customer_id, **overrides)
    data.setdefault("event_id", str(uuid.uuid4()))
    return EVENT_TYPES[event_type].model_validate(data, context={"trusted": True})


async def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    explain: Callable[[], Awaitable[str]] | None = None,
) -> Any:
    """Poll `predicate` (sync or async) until it is truthy; fail after `timeout` seconds
    (with `explain()`'s account of the state, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            told = await explain() if explain is not None else ""
            raise AssertionError(f"condition not met within {timeout}s {told}")
        await asyncio.sleep(0.05)
