"""Forms strict JSON validation would let through, but the contract does not."""

from __future__ import annotations

import json

import pytest

from events import Rejected, parse_inbound
from events.factories import sample_inbound


@pytest.mark.parametrize(
    "event_type, field, value",
    [
        ("VehiclePurchased", "occurred_at", "1737367200"),
        ("VehicleDelivered", "delivered_at", "1737367200"),
        ("VehicleDelivered", "delivered_at", "20260120"),
    ],
)
def test_a_timestamp_that_is_not_rfc_3339_is_refused(
    event_type: str, field: str, value: str
) -> None:
    with pytest.raises(Rejected) as rejected:
        parse_inbound(json.dumps(sample_inbound(event_type, **{field: value})).encode())
    assert rejected.value.reason == "bad_timestamp"
    assert rejected.value.message.startswith(f"{field}:")


@pytest.mark.parametrize(
    "event_type, field", [("VehiclePurchased", "price_cny"), ("ServiceCompleted", "amount_cny")]
)
def test_an_amount_given_as_a_string_is_refused(event_type: str, field: str) -> None:
    with pytest.raises(Rejected) as rejected:
        parse_inbound(json.dumps(sample_inbound(event_type, **{field: "289900"})).encode())
    assert rejected.value.reason == "wrong_type"
    assert rejected.value.message.startswith(f"{field}:")


def test_a_birthday_date_is_not_taken_for_a_timestamp() -> None:
    event = parse_inbound(json.dumps(sample_inbound("CustomerRegistered")).encode())
    assert event.event_type == "CustomerRegistered"
