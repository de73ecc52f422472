"""Phones, VINs and subjects."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from events import (
    CustomerHints,
    CustomerRegistered,
    InboundSubject,
    Rejected,
    RetentionSubject,
    SubjectError,
    VehiclePurchased,
    Vin,
    dlq_subject,
    inbound_subject,
    normalise_phone,
    parse_dlq_subject,
    parse_inbound,
    parse_inbound_subject,
    parse_retention_subject,
    retention_subject,
)
from events.factories import sample_inbound


class HasVin(BaseModel):
    vin: Vin


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "+86 138-0013-8000",
        "8613800138000",
        "+8613800138000",
        "008613800138000",
        "(+86) 138.0013.8000",
    ],
)
def test_phone_equivalences(raw: str) -> None:
    assert normalise_phone(raw) == "+8613800138000"


def test_phone_landline_and_other_regions() -> None:
    assert normalise_phone("010 6552 9988") == "+861065529988"
    assert normalise_phone("+1 650 253 0000") == "+16502530000"
    assert normalise_phone("(650) 253-0000", region="US") == "+16502530000"


@pytest.mark.parametrize("raw", ["", "   ", "12", "not a phone", "1380013800", "+86 000", "1\x00"])
def test_invalid_phones_raise(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(raw)


def test_vin_upper_cased() -> None:
    assert HasVin(vin="lsgkb54e7ls123456").vin == "LSGKB54E7LS123456"


@pytest.mark.parametrize(
    "vin",
    [
        "LSGKB54E7LS12345I",
        "LSGKB54E7LS12345O",
        "LSGKB54E7LS12345Q",
        "lsgkb54e7ls12345q",
        "LSGKB54E7LS12345",
        "LSGKB54E7LS1234567",
        "LSGKB54E7LS12345-",
        "",
    ],
)
def test_bad_vins(vin: str) -> None:
    with pytest.raises(ValidationError):
        HasVin(vin=vin)


def test_customer_hints_need_identity_but_any_one_will_do() -> None:
    assert CustomerHints(vin="lsgkb54e7ls123456").vin == "LSGKB54E7LS123456"
    assert CustomerHints(external_id="DMS:42").external_id == "DMS:42"
    with pytest.raises(ValidationError):
        CustomerHints(name="张伟")


def test_hint_vin_is_checked_inbound() -> None:
    data = sample_inbound("CustomerVisited", customer={"vin": "LSGKB54E7LS12345O"})
    with pytest.raises(Rejected) as info:
        parse_inbound(json.dumps(data).encode())
    assert (info.value.reason, info.value.field) == ("bad_id", "customer.vin")


def test_subject_round_trips() -> None:
    subject = inbound_subject("demo-4s", "VehiclePurchased")
    assert subject == "dealer.in.demo-4s.VehiclePurchased"
    assert parse_inbound_subject(subject) == InboundSubject("demo-4s", "VehiclePurchased")
    subject = retention_subject("demo-4s", "c-1", "FollowUpDue")
    assert subject == "retention.demo-4s.c-1.FollowUpDue"
    assert parse_retention_subject(subject) == RetentionSubject("demo-4s", "c-1", "FollowUpDue")
    assert dlq_subject("intake", "bad_json") == "dlq.intake.bad_json"
    assert parse_dlq_subject("dlq.intake.bad_json") == ("intake", "bad_json")


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "dealer.in",
        "dealer.in.demo-4s",
        "dealer.in.demo-4s.A.B",
        "dealer.out.demo-4s.A",
        "dealer.in.Demo.VehiclePurchased",
        "dealer.in.demo 4s.VehiclePurchased",
        "dealer.in.demo-4s.vehiclePurchased",
        "dealer.in.*.VehiclePurchased",
        "dealer.in.demo-4s.>",
        "dealer.in..VehiclePurchased",
        "dealer.in.demo-4s.VehiclePurchased\n",
    ],
)
def test_malformed_inbound_subjects(subject: str) -> None:
    with pytest.raises(SubjectError):
        parse_inbound_subject(subject)


@pytest.mark.parametrize(
    "subject",
    [
        "retention.demo-4s.FollowUpDue",
        "retention.demo-4s.C1.FollowUpDue",
        "retention.demo-4s.c-1.FollowUpDue.x",
        "dealer.demo-4s.c-1.FollowUpDue",
    ],
)
def test_malformed_retention_subjects(subject: str) -> None:
    with pytest.raises(SubjectError):
        parse_retention_subject(subject)


def test_builders_refuse_bad_tokens() -> None:
    with pytest.raises(SubjectError):
        inbound_subject("demo.4s", "VehiclePurchased")
    with pytest.raises(SubjectError):
        retention_subject("demo-4s", "c>1", "FollowUpDue")
    with pytest.raises(SubjectError):
        dlq_subject("intake", "bad json")


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("京A12345", "京A12345"),
        ("京a·12345", "京A12345"),
        ("粤B D12345", "粤BD12345"),  # a new-energy plate, typed with a space
        ("沪C-1234学", "沪C1234学"),
    ],
)
def test_a_plate_has_one_spelling(raw: str, plate: str) -> None:
    for event_type in ("CustomerRegistered", "VehiclePurchased"):
        event = parse_inbound(json.dumps(sample_inbound(event_type, plate=raw)).encode())
        assert isinstance(event, CustomerRegistered | VehiclePurchased)
        assert event.plate == plate
        without = parse_inbound(json.dumps(sample_inbound(event_type)).encode())
        assert isinstance(without, CustomerRegistered | VehiclePurchased)
        assert without.plate is None  # optional


@pytest.mark.parametrize("raw", ["", "A", "京A 123!5", "京" * 17, "京A\x0012345"])
def test_a_bad_plate_is_refused(raw: str) -> None:
    body = json.dumps(sample_inbound("VehiclePurchased", plate=raw)).encode()
    with pytest.raises(Rejected) as refused:
        parse_inbound(body)
    assert refused.value.reason == "bad_value"
