"""The rebuild's cheaper encodings give exactly what the slower ones they replace gave: the
timeline's summary written field by field, documents dumped and loaded with orjson."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import EVENT_TYPES, Event, parse_recorded
from events.factories import sample_inbound, sample_recorded
from events.registry import RECORDED_ONLY_TYPES
from services.projections.docjson import dump_doc, load_doc
from services.projections.readmodels.summary import summary_by_dump, summary_of


def _recorded(event_type: str, **overrides: Any) -> Event:
    if event_type in RECORDED_ONLY_TYPES:
        return parse_recorded(json.dumps(sample_recorded(event_type, **overrides)).encode())
    cause = "6f1e6c1e-8d8e-4a52-9a0f-0c6e8a1f2b3c"
    raw = sample_inbound(event_type, **overrides)
    raw |= {"customer_id": "c-1", "correlation_id": cause, "causation_id": cause}
    raw["received_at"] = "2025-01-20T10:00:00.123400+08:00"
    return parse_recorded(json.dumps(raw, ensure_ascii=False).encode())


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_summary_is_the_summary_of_the_dump_for_every_event_type(event_type: str) -> None:
    event = _recorded(event_type)
    assert summary_of(event) == summary_by_dump(event)


@pytest.mark.parametrize("price", [250000, 1234.5, 0.01, 99_999_999.99])
def test_summary_writes_money_as_the_dump(price: float) -> None:
    event = _recorded("VehiclePurchased", price_cny=price, plate=None)
    assert summary_of(event) == summary_by_dump(event)


def test_summary_is_cut_as_the_dump() -> None:
    event = _recorded("ComplaintFiled", description="白" * 700)
    assert summary_of(event) == summary_by_dump(event)
    assert len(summary_of(event)) == 500


@pytest.mark.parametrize(
    "at",
    [
        datetime(2025, 1, 20, 10, tzinfo=UTC),
        datetime(2025, 1, 20, 10, 0, 0, 120000, tzinfo=UTC),
        datetime(2025, 1, 20, 10, 0, 0, 7, tzinfo=timezone(timedelta(hours=8))),
        datetime(2025, 1, 20, 10, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    ],
)
def test_summary_writes_times_as_the_dump(at: datetime) -> None:
    event = _recorded("VehicleDelivered", delivered_at=at.isoformat())
    assert summary_of(event) == summary_by_dump(event)


_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e-3, max_value=1e-3)
    | st.sampled_from([0.1, 1e-5, 4.7e-9, 1e16, 250000.0, 1234.56])
    | _TEXT
)
_DOCS = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=5),
    max_leaves=30,
)


def _stdlib(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_TEXT, _DOCS, max_size=6))
def test_documents_dump_and_load_as_the_standard_library_did(doc: dict[str, Any]) -> None:
    text = dump_doc(doc)
    assert text == _stdlib(doc)
    assert load_doc(text) == json.loads(text)


def test_documents_orjson_writes_otherwise_are_dumped_by_the_standard_library() -> None:
    for doc in ({1: "int key"}, {"big": 2**80}, {"tiny": [1e-7, -2.5e-5]}, {"a": {"b": 3e-5}}):
        assert dump_doc(doc) == _stdlib(doc)


def test_documents_read_back_as_the_standard_library_read_them() -> None:
    for text in ('{"nan":NaN}', '{"big":-9223372036854775809}', '{"huge":1e400}'):
        assert repr(load_doc(text)) == repr(json.loads(text))
