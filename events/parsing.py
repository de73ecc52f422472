"""Bytes in, a validated event out, or `Rejected` with a reason slug naming the field.

`parse_inbound` is the gate for what other systems send; `parse_recorded` reads back what
the services recorded on RETENTION (trusted: no future-time check); `to_json` writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, NoReturn, get_args

import orjson
from pydantic import AwareDatetime, ValidationError
from pydantic_core import ErrorDetails

from events.envelope import CURRENT_SCHEMA_VERSION, RECORDED_ONLY_FIELDS, Event, InboundEvent
from events.errors import REASONS, Rejected
from events.personal import SEALED
from events.registry import EVENT_TYPES, RECORDED_ONLY_TYPES, inbound_model
from events.subjects import MAX_MESSAGE_BYTES, SubjectError, parse_inbound_subject
from events.upcasting import upcast

_EXACT: dict[str, str] = {
    "missing": "missing_field",
    "extra_forbidden": "forbidden_field",
    "literal_error": "bad_enum",
    "enum": "bad_enum",
    "string_pattern_mismatch": "bad_id",
    "uuid_parsing": "bad_id",
    "uuid_version": "bad_id",
    "timezone_aware": "bad_timestamp",
    "timezone_naive": "bad_timestamp",
    "datetime_parsing": "bad_timestamp",
    "datetime_from_date_parsing": "bad_timestamp",
    "datetime_object_invalid": "bad_timestamp",
    "datetime_type": "bad_timestamp",
    "int_from_float": "wrong_type",
    "model_type": "wrong_type",
    "model_attributes_type": "wrong_type",
    "dataclass_type": "wrong_type",
    "is_instance_of": "wrong_type",
    "json_invalid": "bad_json",
}

_MESSAGES: dict[str, str] = {
    "timezone_aware": "timestamp has no UTC offset",
    "missing": "field required",
    "extra_forbidden": "field not allowed",
}


def _reason_for(error_type: str) -> str:
    if error_type in REASONS:  # our own PydanticCustomError types are already slugs
        return error_type
    if error_type in _EXACT:
        return _EXACT[error_type]
    if error_type.endswith(("_type", "_parsing")):
        return "wrong_type"
    return "bad_value"


def _field_path(loc: tuple[int | str, ...]) -> str | None:
    return ".".join(str(part) for part in loc) if loc else None


def rejection_from(exc: ValidationError) -> Rejected:
    """The first validation error, as a `Rejected` whose message starts with the field."""
    errors: list[ErrorDetails] = exc.errors(include_url=False)
    if not errors:
        return Rejected("bad_value", str(exc))
    error = errors[0]
    field = _field_path(tuple(error["loc"]))
    text = _MESSAGES.get(error["type"], error["msg"])
    more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
    message = f"{field or exc.title}: {text}{more}"
    return Rejected(_reason_for(error["type"]), message, field)


def _reject(reason: str, message: str, field: str | None = None) -> NoReturn:
    raise Rejected(reason, message, field)


def _load_object(data: bytes, limit: int | None = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    if not isinstance(data, bytes | bytearray | memoryview):
        _reject("bad_json", f"expected bytes, got {type(data).__name__}")
    if limit is not None and len(data) > limit:
        _reject("oversize", f"message is {len(data)} bytes, over {limit}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        _reject("bad_json", f"not UTF-8: {exc.reason} at byte {exc.start}")

    def _no_constant(name: str) -> NoReturn:
        raise ValueError(f"{name} is not JSON")

    try:
        loaded = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        _reject("bad_json", f"not JSON: {str(exc)[:200]}")
    if not isinstance(loaded, dict):
        _reject("bad_json", f"expected a JSON object, got {type(loaded).__name__}")
    _dump(loaded)  # refuses unpaired surrogates ("\\ud800"): not valid Unicode
    return loaded


def _dump(raw: dict[str, Any]) -> bytes:
    try:
        return json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        _reject("bad_json", "a string holds an unpaired surrogate (not valid Unicode)")
    except RecursionError:  # read just below the limit, it cannot be written back
        _reject("bad_json", "nested too deeply")


def _event_type_of(raw: dict[str, Any]) -> str:
    if "event_type" not in raw:
        _reject("missing_field", "event_type: field required", "event_type")
    event_type = raw["event_type"]
    if not isinstance(event_type, str):
        _reject("wrong_type", "event_type: should be a string", "event_type")
    return event_type


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


@cache
def _typed_fields(model: type[Event]) -> tuple[frozenset[str], frozenset[str]]:
    """The model's top-level timestamp and money fields."""
    times, amounts = set(), set()
    for name, info in model.model_fields.items():
        kinds = _types_in(info.annotation)
        if kinds & {datetime, AwareDatetime}:
            times.add(name)
        elif Decimal in kinds:
            amounts.add(name)
    return frozenset(times), frozenset(amounts)


def _types_in(annotation: Any) -> set[Any]:
    found = {annotation}
    for arg in get_args(annotation):
        found |= _types_in(arg)
    return found


def _check_json_forms(model: type[Event], raw: dict[str, Any]) -> None:
    """What strict JSON validation still lets through: pydantic reads "1737367200" as a
    time and "289900" as an amount; the contract asks for RFC 3339 and JSON numbers."""
    times, amounts = _typed_fields(model)
    for name in times:
        value = raw.get(name)
        if isinstance(value, str) and not _RFC3339.match(value):
            _reject("bad_timestamp", f"{name}: not an RFC 3339 timestamp with offset", name)
    for name in amounts:
        if isinstance(raw.get(name), str):
            _reject("wrong_type", f"{name}: should be a JSON number, not a string", name)


def parse_inbound(
    data: bytes, subject: str | None = None, *, now: datetime | None = None
) -> InboundEvent:
    """Validate one inbound message (docs/contract.md §1) or raise `Rejected`.

    `subject`, when given, must be `dealer.in.<dealership_id>.<EventType>` and agree with
    the body. `now` is the time `occurred_at` may not be more than 24 hours after
    (default: the wall clock).
    """
    context = {"now": now if now is not None else datetime.now(UTC)}
    event = _plain_inbound(data, subject, context)
    return event if event is not None else _read_inbound(data, subject, context)


def _read_inbound(data: bytes, subject: str | None, context: dict[str, Any]) -> InboundEvent:
    """The careful reading: every check in turn, the first failure its verdict."""
    raw = _load_object(data)
    where = None
    if subject is not None:
        try:
            where = parse_inbound_subject(subject)
        except SubjectError as exc:
            _reject("bad_subject", f"subject: {exc}", "subject")
    event_type = _event_type_of(raw)
    if where is not None and where.event_type != event_type:
        _reject(
            "type_mismatch",
            f"event_type: body says {event_type!r}, subject says {where.event_type!r}",
            "event_type",
        )
    model = inbound_model(event_type)
    if model is None:
        why = (
            "is recorded by the services, never accepted inbound"
            if event_type in RECORDED_ONLY_TYPES
            else "is not a known event type"
        )
        _reject("unknown_type", f"event_type: {event_type[:80]!r} {why}", "event_type")
    if where is not None and raw.get("dealership_id") != where.dealership_id:
        _reject(
            "dealership_mismatch",
            f"dealership_id: body says {str(raw.get('dealership_id'))[:80]!r}, "
            f"subject says {where.dealership_id!r}",
            "dealership_id",
        )
    for name in RECORDED_ONLY_FIELDS:
        if name in raw:
            _reject("forbidden_field", f"{name}: set by the services, not by senders", name)
    raw = upcast(raw)
    _check_json_forms(model, raw)
    try:
        event = model.model_validate_json(_dump(raw), strict=True, context=context)
    except ValidationError as exc:
        raise rejection_from(exc) from None
    return event


def _plain_inbound(
    data: bytes, subject: str | None, context: dict[str, Any]
) -> InboundEvent | None:
    """The common case in one pass: a well-formed event of the current version, its bytes
    validated as they are. None for anything else (bad JSON, an unpaired surrogate, NaN, an
    older version, a mismatch, an invalid field), which `parse_inbound` then reads the
    careful way for its exact verdict. What it accepts, the careful reading accepts as the
    same event: the bytes it validates are the careful reading's, but for numbers written
    otherwise than Python writes them back (1e2, 1.50), which pydantic reads as the same
    values (tests/events/test_events_plain_path.py)."""
    if not isinstance(data, bytes) or len(data) > MAX_MESSAGE_BYTES:
        return None
    try:
        raw = orjson.loads(data)  # refuses what _load_object refuses, and more
    except orjson.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    event_type, version = raw.get("event_type"), raw.get("schema_version")
    if not isinstance(event_type, str) or type(version) is not int:  # True == 1
        return None
    if version != CURRENT_SCHEMA_VERSION:  # to be upcast first
        return None
    if subject is not None:
        try:
            where = parse_inbound_subject(subject)
        except SubjectError:
            return None
        if where.event_type != event_type or where.dealership_id != raw.get("dealership_id"):
            return None
    model = inbound_model(event_type)
    if model is None or any(name in raw for name in RECORDED_ONLY_FIELDS):
        return None
    try:
        _check_json_forms(model, raw)
        return model.model_validate_json(data, strict=True, context=context)
    except (Rejected, ValidationError):
        return None


Opener = Callable[[dict[str, Any], Any], None]
"""Puts a recorded event's sealed personal values back into its JSON object (in place),
given the object and its `sealed` box; laoke/sealing.py provides it."""


def parse_recorded(data: bytes, opener: Opener | None = None) -> Event:
    """Read back a recorded event of any type in `EVENT_TYPES` (trusted: no future check).

    Its sealed personal values (events/personal.py) are put back by `opener`; without one,
    or when the box cannot be opened, the event keeps their placeholders."""
    # Recorded events may exceed the inbound limit (RETENTION allows 256 KiB).
    raw = _load_object(data, limit=None)
    sealed = raw.pop(SEALED, None)
    if sealed is not None and opener is not None:
        opener(raw, sealed)
    event_type = _event_type_of(raw)
    model = EVENT_TYPES.get(event_type)
    if model is None:
        _reject("unknown_type", f"event_type: {event_type[:80]!r} is not a known event type")
    raw = upcast(raw)
    try:
        return model.model_validate_json(_dump(raw), strict=True, context={"trusted": True})
    except ValidationError as exc:
        raise rejection_from(exc) from None


def to_json(event: Event) -> bytes:
    """Compact JSON bytes, None fields left out; `parse_recorded(to_json(e)) == e`."""
    return event.model_dump_json(exclude_none=True).encode("utf-8")
