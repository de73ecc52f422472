"""parse_inbound's one pass (`_plain_inbound`) accepts only what its careful reading
(`_read_inbound`) accepts, as the same event; everything else goes the careful way.
The fuzz tests (test_events_fuzz.py) check the same on arbitrary and mutated events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from events import INBOUND_TYPES
from events.factories import SAMPLE_DEALERSHIP, sample_inbound, sample_inbound_bytes
from events.parsing import _plain_inbound, _read_inbound, _typed_fields
from events.registry import inbound_model

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CONTEXT = {"now": NOW}


def _subject(event_type: str) -> str:
    return f"dealer.in.{SAMPLE_DEALERSHIP}.{event_type}"


def test_every_sample_takes_the_one_pass() -> None:
    """Without this the one pass could quietly stop being taken, and the speed with it."""
    for event_type in sorted(INBOUND_TYPES):
        data = sample_inbound_bytes(event_type)
        for subject in (None, _subject(event_type)):
            event = _plain_inbound(data, subject, CONTEXT)
            assert event is not None, event_type
            assert event == _read_inbound(data, subject, CONTEXT)


def _written(event_type: str, field: str, raw_json: str) -> bytes:
    """A sample whose `field` is written by hand (JSON a Python value cannot express)."""
    placeholder = "\x00placeholder"
    body = json.dumps(sample_inbound(event_type, **{field: placeholder}))
    return body.replace(json.dumps(placeholder), raw_json).encode()


def test_numbers_written_otherwise_read_as_the_careful_reading_reads_them() -> None:
    """The careful reading writes the object back (1e5 as 100000.0, 1.50 as 1.5, a number
    beyond a double's digits rounded) before validating; the one pass validates the bytes
    as sent. Both must give the same amount, or the one pass none."""
    for written, amount in [("1e5", 100000), ("1.50", 1.5), ("1.0000000000000000001", 1)]:
        data = _written("VehiclePurchased", "price_cny", written)
        careful = _read_inbound(data, None, CONTEXT)
        assert careful.price_cny == amount  # type: ignore[attr-defined]
        assert _plain_inbound(data, None, CONTEXT) in (careful, None)


def test_what_the_one_pass_leaves_to_the_careful_reading() -> None:
    sample = sample_inbound("CustomerVisited")
    data = json.dumps(sample).encode()
    cases = [
        (json.dumps({**sample, "schema_version": True}).encode(), None),  # True == 1
        (b"\xef\xbb\xbf" + data, None),  # a byte-order mark
        (_written("CustomerVisited", "source", '"\\ud800"'), None),  # an unpaired surrogate
        (_written("CustomerVisited", "source", "NaN"), None),
        (json.dumps({**sample, "customer_id": "c-1"}).encode(), None),  # the services' field
        (data, "dealer.in.other-4s.CustomerVisited"),  # another dealership's subject
        (data, f"dealer.in.{SAMPLE_DEALERSHIP}.VehiclePurchased"),  # another type's
        (data, "dealer.in"),  # not a subject
    ]
    for body, subject in cases:
        assert _plain_inbound(body, subject, CONTEXT) is None, (body, subject)


def test_times_and_amounts_in_string_form_go_the_careful_way() -> None:
    """pydantic reads "1737367200" as a time and "289900" as an amount; the contract does
    not (events/parsing.py, `_check_json_forms`), whichever way the event is read."""
    for event_type in sorted(INBOUND_TYPES):
        model = inbound_model(event_type)
        assert model is not None
        times, amounts = _typed_fields(model)
        written = [(name, "1737367200") for name in times] + [(n, "289900") for n in amounts]
        for name, value in written:
            data = json.dumps(sample_inbound(event_type, **{name: value})).encode()
            assert _plain_inbound(data, None, CONTEXT) is None, (event_type, name)
