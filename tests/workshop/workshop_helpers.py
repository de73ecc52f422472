"""Building recorded workshop events for tests, and waiting for a condition without sleeping
a fixed time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from events import Event
from events.factories import sample_inbound

T0 = datetime.fromisoformat("2026-01-20T10:00:00+00:00")
DEALERSHIP = "demo-4s"
CUSTOMER = "c-test-0001"


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


E = TypeVar("E", bound=Event)


def recorded(model: type[E], /, **overrides: Any) -> E:
    """An inbound event as intake records it on RETENTION (canonical customer, audit ids)."""
    overrides.setdefault("event_id", str(uuid.uuid4()))
    overrides.setdefault("occurred_at", at(0))
    data = sample_inbound(model.type_name(), **overrides)
    data.setdefault("customer_id", CUSTOMER)
    data["correlation_id"] = data["causation_id"] = data["event_id"]
    return model.model_validate(data, context={"trusted": True})
