"""Each rejection reason, with a concrete bad input; the message names the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events import REASONS, Rejected, parse_inbound, parse_recorded, to_json
from events.factories import sample_inbound, sample_recorded
from events.upcasting import upcast

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def reject(
    data: bytes | dict[str, Any], subject: str | None = None, now: datetime = NOW
) -> Rejected:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(Rejected) as info:
        parse_inbound(raw, subject, now=now)
    return info.value


def without(event_type: str, field: str) -> dict[str, Any]:
    sample = sample_inbound(event_type)
    del sample[field]
    return sample


CASES: list[tuple[str, str, bytes | dict[str, Any], str | None, str | None]] = [
    # (name, reason, input, subject, field named in the message)
    ("oversize", "oversize", b"{" + b" " * (64 * 1024) + b"}", None, None),
    ("not json", "bad_json", b"{not json", None, None),
    ("json array", "bad_json", b"[1, 2]", None, None),
    ("invalid utf-8", "bad_json", b'{"a": "\xff"}', None, None),
    ("NaN", "bad_json", b'{"a": NaN}', None, None),
    ("lone surrogate", "bad_json", b'{"event_type": "\\ud800"}', None, None),
    (
        "unknown type",
        "unknown_type",
        sample_inbound("CustomerVisited", event_type="Nope"),
        None,
        "event_type",
    ),
    (
        "recorded-only type",
        "unknown_type",
        {**sample_recorded("FollowUpDue"), "customer_id": None},
        None,
        "event_type",
    ),
    (
        "subject type",
        "type_mismatch",
        sample_inbound("CustomerVisited"),
        "dealer.in.demo-4s.VehiclePurchased",
        "event_type",
    ),
    (
        "subject dealership",
        "dealership_mismatch",
        sample_inbound("CustomerVisited"),
        "dealer.in.other.CustomerVisited",
        "dealership_id",
    ),
    (
        "subject shape",
        "bad_subject",
        sample_inbound("CustomerVisited"),
        "dealer.demo-4s.CustomerVisited",
        "subject",
    ),
    (
        "subject token",
        "bad_subject",
        sample_inbound("CustomerVisited"),
        "dealer.in.Demo.CustomerVisited",
        "subject",
    ),
    (
        "missing event_type",
        "missing_field",
        without("CustomerVisited", "event_type"),
        None,
        "event_type",
    ),
    (
        "missing payload field",
        "missing_field",
        without("VehiclePurchased", "price_cny"),
        None,
        "price_cny",
    ),
    (
        "missing envelope field",
        "missing_field",
        without("VehiclePurchased", "occurred_at"),
        None,
        "occurred_at",
    ),
    (
        "missing customer",
        "missing_field",
        without("VehiclePurchased", "customer"),
        None,
        "customer",
    ),
    (
        "missing schema_version",
        "missing_field",
        without("VehiclePurchased", "schema_version"),
        None,
        "schema_version",
    ),
    (
        "string for int",
        "wrong_type",
        sample_inbound("ServiceCompleted", mileage_km="5200"),
        None,
        "mileage_km",
    ),
    (
        "bool for int",
        "wrong_type",
        sample_inbound("ServiceCompleted", mileage_km=True),
        None,
        "mileage_km",
    ),
    (
        "string for bool",
        "wrong_type",
        sample_inbound("ContactPreferenceChanged", opt_out="yes"),
        None,
        "opt_out",
    ),
    (
        "list for object",
        "wrong_type",
        sample_inbound("CustomerVisited", customer=["x"]),
        None,
        "customer",
    ),
    (
        "event_type not str",
        "wrong_type",
        sample_inbound("CustomerVisited", event_type=5),
        None,
        "event_type",
    ),
    (
        "naive",
        "bad_timestamp",
        sample_inbound("CustomerVisited", occurred_at="2025-03-01T10:00:00"),
        None,
        "occurred_at",
    ),
    (
        "not a time",
        "bad_timestamp",
        sample_inbound("CustomerVisited", occurred_at="yesterday"),
        None,
        "occurred_at",
    ),
    (
        "future",
        "bad_timestamp",
        sample_inbound("CustomerVisited", occurred_at="2025-03-02T12:00:01+00:00"),
        None,
        "occurred_at",
    ),
    (
        "before 2000",
        "bad_timestamp",
        sample_inbound("CustomerVisited", occurred_at="1999-12-31T23:59:59+00:00"),
        None,
        "occurred_at",
    ),
    (
        "naive payload time",
        "bad_timestamp",
        sample_inbound("VehicleDelivered", delivered_at="2025-03-01T10:00:00"),
        None,
        "delivered_at",
    ),
    (
        "dealership id",
        "bad_id",
        sample_inbound("CustomerVisited", dealership_id="Demo 4S"),
        None,
        "dealership_id",
    ),
    (
        "event id",
        "bad_id",
        sample_inbound("CustomerVisited", event_id="not-a-uuid"),
        None,
        "event_id",
    ),
    (
        "complaint id",
        "bad_id",
        sample_inbound("ComplaintFiled", complaint_id="a b"),
        None,
        "complaint_id",
    ),
    (
        "vin with I",
        "bad_id",
        sample_inbound("VehiclePurchased", vin="LSGKB54E7LS12345I"),
        None,
        "vin",
    ),
    ("source", "bad_id", sample_inbound("CustomerVisited", source="DMS!"), None, "source"),
    (
        "no identity",
        "no_identity",
        sample_inbound("CustomerVisited", customer={"name": "张伟"}),
        None,
        "customer",
    ),
    (
        "empty customer",
        "no_identity",
        sample_inbound("CustomerVisited", customer={}),
        None,
        "customer",
    ),
    ("enum", "bad_enum", sample_inbound("ComplaintFiled", category="rude"), None, "category"),
    (
        "nested enum",
        "bad_enum",
        sample_inbound("CustomerRegistered", consent={"marketing": True, "channels": ["pigeon"]}),
        None,
        "consent.channels.0",
    ),
    (
        "negative money",
        "bad_value",
        sample_inbound("VehiclePurchased", price_cny=-1),
        None,
        "price_cny",
    ),
    (
        "money precision",
        "bad_value",
        sample_inbound("VehiclePurchased", price_cny=1.234),
        None,
        "price_cny",
    ),
    (
        "money too big",
        "bad_value",
        sample_inbound("VehiclePurchased", price_cny=100_000_000.01),
        None,
        "price_cny",
    ),
    (
        "satisfaction",
        "bad_value",
        sample_inbound("FollowUpCompleted", satisfaction=11),
        None,
        "satisfaction",
    ),
    ("CSI zero", "bad_value", sample_inbound("SurveyAnswered", score=0), None, "score"),
    (
        "NPS eleven",
        "bad_value",
        sample_inbound("SurveyAnswered", survey_kind="NPS", score=11),
        None,
        "score",
    ),
    (
        "two questions",
        "bad_value",
        sample_inbound("ReferralCallbackAnswered", questions=[{"correct": True}] * 2),
        None,
        "questions",
    ),
    (
        "five questions",
        "bad_value",
        sample_inbound("ReferralCallbackAnswered", questions=[{"correct": True}] * 5),
        None,
        "questions",
    ),
    (
        "NUL",
        "bad_value",
        sample_inbound("ComplaintFiled", description="bad\x00text"),
        None,
        "description",
    ),
    (
        "too long",
        "bad_value",
        sample_inbound("ComplaintFiled", description="x" * 4001),
        None,
        "description",
    ),
    (
        "version 2",
        "unsupported_version",
        sample_inbound("CustomerVisited", schema_version=2),
        None,
        "schema_version",
    ),
    (
        "version 0",
        "unsupported_version",
        sample_inbound("CustomerVisited", schema_version=0),
        None,
        "schema_version",
    ),
    (
        "sender sets customer_id",
        "forbidden_field",
        sample_inbound("CustomerVisited", customer_id="c-1"),
        None,
        "customer_id",
    ),
    (
        "sender sets causation_id",
        "forbidden_field",
        sample_inbound("CustomerVisited", causation_id="6d1f0c2e-6b5e-4c53-9f0a-0c6f5a1a7e11"),
        None,
        "causation_id",
    ),
    (
        "unknown field",
        "forbidden_field",
        sample_inbound("CustomerVisited", colour="red"),
        None,
        "colour",
    ),
    (
        "unknown nested field",
        "forbidden_field",
        sample_inbound("CustomerVisited", customer={"phone": "1", "wechat": "x"}),
        None,
        "customer.wechat",
    ),
]


@pytest.mark.parametrize(
    ("reason", "data", "subject", "field"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rejection(
    reason: str, data: bytes | dict[str, Any], subject: str | None, field: str | None
) -> None:
    rejected = reject(data, subject)
    assert rejected.reason == reason, rejected
    assert rejected.field == field
    if field is not None:
        assert rejected.message.startswith(f"{field}: "), rejected.message
    assert str(rejected).startswith(f"{reason}: ")


def test_every_reason_is_exercised() -> None:
    # Intake's refusals of a split are not the parser's: tests/intake/test_intake_splits.py.
    assert {case[1] for case in CASES} == REASONS - {
        "unknown_merge",
        "already_split",
        "customer_erased",
    }


def test_nesting_at_the_recursion_limit_is_refused_not_raised() -> None:
    """Near Python's recursion limit, `json.loads` can read a nesting that re-encoding it
    (the check for unpaired surrogates) cannot: that must be a rejection too, never a
    `RecursionError` out of the parser (a fuzz run found depth ~990). The whole range is
    tried, so the boundary is crossed whatever the caller's stack depth."""
    for depth in range(1, 1200):
        body = ('{"event_type": ' + "[" * depth + "1" + "]" * depth + "}").encode()
        with pytest.raises(Rejected) as info:
            parse_inbound(body, None, now=NOW)
        assert info.value.reason in REASONS


def test_naive_message_is_plain() -> None:
    rejected = reject(sample_inbound("CustomerVisited", occurred_at="2025-03-01T10:00:00"))
    assert rejected.message == "occurred_at: timestamp has no UTC offset"


def test_future_limit_is_24_hours_from_pinned_now() -> None:
    at = NOW + timedelta(hours=24)
    ok = sample_inbound("CustomerVisited", occurred_at=at.isoformat())
    assert parse_inbound(json.dumps(ok).encode(), now=NOW).occurred_at == at
    later = sample_inbound("CustomerVisited", occurred_at=(at + timedelta(seconds=1)).isoformat())
    assert reject(later).reason == "bad_timestamp"
    # the same message is fine a day later
    assert parse_inbound(json.dumps(later).encode(), now=NOW + timedelta(days=1))


def test_recorded_events_skip_the_future_check() -> None:
    far = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    event = parse_inbound(
        json.dumps(sample_inbound("CustomerVisited", occurred_at=far)).encode(),
        now=datetime.now(UTC) + timedelta(days=400),
    )
    assert parse_recorded(to_json(event)) == event
    due = sample_recorded("FollowUpDue", occurred_at=far)
    assert parse_recorded(json.dumps(due).encode()).occurred_at.year > 2025


def test_recorded_only_types_need_their_links() -> None:
    due = sample_recorded("FollowUpDue", correlation_id=None)
    with pytest.raises(Rejected) as info:
        parse_recorded(json.dumps(due).encode())
    assert info.value.reason == "missing_field"
    assert info.value.field == "correlation_id"


def test_parse_recorded_rejects_garbage() -> None:
    for data, reason in [(b"[]", "bad_json"), (b'{"event_type": "Nope"}', "unknown_type")]:
        with pytest.raises(Rejected) as info:
            parse_recorded(data)
        assert info.value.reason == reason


def test_upcast_is_identity_at_current_version() -> None:
    raw = sample_inbound("CustomerVisited")
    assert upcast(raw) == raw


def test_rejected_refuses_unknown_reasons() -> None:
    with pytest.raises(ValueError):
        Rejected("something_else", "x")
