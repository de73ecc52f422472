"""Bad input on NATS ends in RETENTION_DLQ with its reason, never on RETENTION."""

from __future__ import annotations

import json
from typing import Any

from intake_support import inbound, read_stream, stream_count, wait_count
from nats.js import JetStreamContext

from laoke.metrics import DEAD_LETTERS
from services.intake.service import IntakeService


def _body(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def _without(field: str) -> dict[str, Any]:
    event = inbound("VehiclePurchased")
    del event[field]
    return event


# (what, subject, body, expected reason)
BAD_INPUTS: list[tuple[str, str, bytes, str]] = [
    ("bad json", "dealer.in.demo-4s.CustomerVisited", b"{not json", "bad_json"),
    (
        "unknown type",
        "dealer.in.demo-4s.CarWashed",
        _body(inbound("CustomerVisited") | {"event_type": "CarWashed"}),
        "unknown_type",
    ),
    (
        "type differs from subject",
        "dealer.in.demo-4s.VehiclePurchased",
        _body(inbound("CustomerVisited")),
        "type_mismatch",
    ),
    (
        "dealership differs from subject",
        "dealer.in.other-4s.CustomerVisited",
        _body(inbound("CustomerVisited")),
        "dealership_mismatch",
    ),
    (
        "missing field",
        "dealer.in.demo-4s.VehiclePurchased",
        _body(_without("vin")),
        "missing_field",
    ),
    (
        "wrong type",
        "dealer.in.demo-4s.VehiclePurchased",
        _body(inbound("VehiclePurchased", price_cny="lots")),
        "wrong_type",
    ),
    (
        "naive timestamp",
        "dealer.in.demo-4s.CustomerVisited",
        _body(inbound("CustomerVisited", occurred_at="2026-01-20T10:00:00")),
        "bad_timestamp",
    ),
    (
        "absurd timestamp",
        "dealer.in.demo-4s.CustomerVisited",
        _body(inbound("CustomerVisited", occurred_at="1999-12-31T23:00:00+00:00")),
        "bad_timestamp",
    ),
    (
        "bad dealership id",
        "dealer.in.Demo_4S.CustomerVisited",
        _body(inbound("CustomerVisited", dealership_id="Demo_4S")),
        "bad_subject",
    ),
    (
        "event id that is not a UUID",
        "dealer.in.demo-4s.CustomerVisited",
        _body(inbound("CustomerVisited", event_id="evt-1")),
        "bad_id",
    ),
    (
        "no identity hint",
        "dealer.in.demo-4s.CustomerVisited",
        _body(inbound("CustomerVisited", customer={"name": "张伟"})),
        "no_identity",
    ),
    (
        "over 64 KiB",
        "dealer.in.demo-4s.CustomerVisited",
        _body(inbound("CustomerVisited", note="x" * (65 * 1024))),
        "oversize",
    ),
    (
        "bad enum",
        "dealer.in.demo-4s.CustomerVisited",
        _body(inbound("CustomerVisited", visit_kind="karaoke")),
        "bad_enum",
    ),
    (
        "phone that is not a phone",
        "dealer.in.demo-4s.CustomerVisited",
        _body(inbound("CustomerVisited", customer={"phone": "12"})),
        "bad_value",
    ),
]


async def test_every_kind_of_bad_input_is_dead_lettered_with_its_reason(
    intake: IntakeService, js: JetStreamContext
) -> None:
    before = {
        reason: DEAD_LETTERS.labels("intake", reason)._value.get() for *_, reason in BAD_INPUTS
    }
    for _, subject, body, _ in BAD_INPUTS:
        await js.publish(subject, body, headers={"X-Sender": "test"})
    await wait_count(js, "RETENTION_DLQ", len(BAD_INPUTS))

    letters = await read_stream(js, "RETENTION_DLQ")
    assert len(letters) == len(BAD_INPUTS)
    for (what, subject, body, reason), letter in zip(BAD_INPUTS, letters, strict=True):
        assert letter.subject == f"dlq.intake.{reason}", what
        assert letter.headers["Laoke-Reason"] == reason, what
        assert letter.headers["Laoke-Error"], what
        assert letter.headers["Laoke-Original-Subject"] == subject, what
        assert letter.headers["X-Sender"] == "test", "original headers are kept"
        assert letter.data == body, "the original bytes are kept"
    assert await stream_count(js, "RETENTION") == 0
    for reason, count in before.items():
        expected = sum(r == reason for *_, r in BAD_INPUTS)
        assert DEAD_LETTERS.labels("intake", reason)._value.get() == count + expected, reason


async def test_the_error_names_the_field(intake: IntakeService, js: JetStreamContext) -> None:
    event = inbound("CustomerVisited", occurred_at="2026-01-20T10:00:00")
    await js.publish("dealer.in.demo-4s.CustomerVisited", _body(event))
    await wait_count(js, "RETENTION_DLQ", 1)
    (letter,) = await read_stream(js, "RETENTION_DLQ")
    assert "occurred_at" in letter.headers["Laoke-Error"]
