"""Whatever arrives, parse_inbound either returns an event or raises Rejected; and an event
its one pass reads is the one its careful reading gives (events/parsing.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import INBOUND_TYPES, InboundEvent, Rejected, parse_inbound, parse_recorded, to_json
from events.factories import sample_inbound
from events.parsing import _read_inbound

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(["2025-03-01T10:00:00+08:00", "1737367200", "289900"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _check(data: bytes, subject: str | None = None) -> None:
    try:
        event = parse_inbound(data, subject, now=NOW)
    except Rejected as rejected:
        assert rejected.reason
        rejected.message.encode("utf-8")  # printable into DLQ headers
        return
    assert isinstance(event, InboundEvent)
    assert parse_recorded(to_json(event)) == event
    assert event == _read_inbound(data, subject, {"now": NOW})


@given(st.binary(max_size=512))
def test_arbitrary_bytes(data: bytes) -> None:
    _check(data)


@given(st.dictionaries(st.text(max_size=20), json_values, max_size=8))
def test_arbitrary_objects(obj: dict[str, Any]) -> None:
    _check(json.dumps(obj).encode())


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(
    st.sampled_from(sorted(INBOUND_TYPES)),
    st.data(),
)
def test_mutated_samples(event_type: str, data: st.DataObject) -> None:
    sample = sample_inbound(event_type)
    keys = sorted(sample)
    for _ in range(data.draw(st.integers(0, 3))):
        action = data.draw(st.sampled_from(["drop", "set", "add"]))
        if action == "drop" and sample:
            sample.pop(data.draw(st.sampled_from(sorted(sample))))
        elif action == "set":
            sample[data.draw(st.sampled_from(keys))] = data.draw(json_values)
        else:
            sample[data.draw(st.text(max_size=12))] = data.draw(json_values)
    subject = data.draw(
        st.none() | st.just(f"dealer.in.demo-4s.{event_type}") | st.text(max_size=40)
    )
    _check(json.dumps(sample).encode(), subject)
