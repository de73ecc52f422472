"""Every type's sample validates and round-trips through to_json / parse_recorded."""

from __future__ import annotations

import json

import pytest

from events import (
    CONTRACT_INBOUND_TYPES,
    EVENT_TYPES,
    INBOUND_TYPES,
    RECORDED_ONLY_TYPES,
    Event,
    InboundEvent,
    RecordedEvent,
    VehiclePurchased,
    inbound_subject,
    parse_inbound,
    parse_recorded,
    to_json,
)
from events.factories import sample_inbound, sample_inbound_bytes, sample_recorded

CONTRACT_NAMES = {
    "CustomerRegistered",
    "CustomerVisited",
    "VehiclePurchased",
    "VehicleDelivered",
    "ServiceCompleted",
    "ComplaintFiled",
    "ApologyIssued",
    "ComplaintInvestigated",
    "RemedyProposed",
    "RemedyAccepted",
    "RemedyRejected",
    "FollowUpCompleted",
    "SurveyAnswered",
    "ReferralClaimed",
    "ReferralCallbackAnswered",
    "ContactPreferenceChanged",
    "CustomerSplitRequested",
    "PersonalDataErasureRequested",
}


def test_registry_covers_the_contract() -> None:
    assert CONTRACT_INBOUND_TYPES == CONTRACT_NAMES
    assert CONTRACT_NAMES <= INBOUND_TYPES
    assert INBOUND_TYPES.isdisjoint(RECORDED_ONLY_TYPES)
    assert set(EVENT_TYPES) == INBOUND_TYPES | RECORDED_ONLY_TYPES
    assert {
        "FollowUpDue",
        "ComplaintEscalated",
        "ComplaintResolved",
        "ReferralVerified",
        "ReferralRejected",
        "RewardGranted",
        "CustomersMerged",
    } <= RECORDED_ONLY_TYPES
    for name, model in EVENT_TYPES.items():
        assert model.__name__ == name
        assert model.model_config.get("frozen") is True
        assert model.model_config.get("extra") == "forbid"
        assert issubclass(model, InboundEvent if name in INBOUND_TYPES else RecordedEvent)


@pytest.mark.parametrize("event_type", sorted(INBOUND_TYPES))
def test_inbound_sample_validates_and_round_trips(event_type: str) -> None:
    data = sample_inbound_bytes(event_type)
    event = parse_inbound(data, inbound_subject("demo-4s", event_type))
    assert type(event).__name__ == event_type
    assert event.dealership_id == "demo-4s"
    again = parse_recorded(to_json(event))
    assert again == event
    assert to_json(again) == to_json(event)


@pytest.mark.parametrize("event_type", sorted(INBOUND_TYPES))
def test_recorded_form_of_inbound_round_trips(event_type: str) -> None:
    event = parse_inbound(sample_inbound_bytes(event_type))
    recorded = event.model_copy(
        update={
            "customer_id": "c-1",
            "correlation_id": event.event_id,
            "causation_id": event.event_id,
        }
    )
    assert parse_recorded(to_json(recorded)) == recorded


@pytest.mark.parametrize("event_type", sorted(RECORDED_ONLY_TYPES))
def test_recorded_sample_validates_and_round_trips(event_type: str) -> None:
    event = parse_recorded(json.dumps(sample_recorded(event_type)).encode())
    assert isinstance(event, RecordedEvent)
    assert event.customer is None
    assert parse_recorded(to_json(event)) == event


def test_overrides_and_deterministic_ids() -> None:
    a = sample_inbound("VehiclePurchased")
    assert a == sample_inbound("VehiclePurchased")
    b = sample_inbound(
        "VehiclePurchased",
        dealership_id="d1",
        customer={"phone": "13900139000"},
        vin="lsgkb54e7ls654321",
    )
    assert b["event_id"] != a["event_id"]
    event = parse_inbound(json.dumps(b).encode(), "dealer.in.d1.VehiclePurchased")
    assert isinstance(event, VehiclePurchased)
    assert event.vin == "LSGKB54E7LS654321"
    assert "note" not in sample_inbound("CustomerVisited", note=None)
    with pytest.raises(KeyError):
        sample_inbound("FollowUpDue")


def test_to_json_is_compact_and_money_is_a_number() -> None:
    event = parse_inbound(sample_inbound_bytes("ServiceCompleted", amount_cny=860.5))
    text = to_json(event)
    assert b" " not in text.replace(b"RO-2025", b"")
    body = json.loads(text)
    assert body["amount_cny"] == 860.5
    assert "customer_id" not in body  # None fields are left out


def test_models_are_frozen() -> None:
    event: Event = parse_inbound(sample_inbound_bytes("CustomerVisited"))
    with pytest.raises(ValueError):
        event.source = "x"
