"""Sealing recorded events on their way to RETENTION, and opening them on the way back.

A recorded event's personal values (events/personal.py) leave in one box, AES-256-GCM
under the key of the customer its subject names, bound to the event's id (the box of one
event cannot be passed off as another's):
`"sealed": {"key": "<customer id>", "box": "<base64 of nonce + ciphertext>"}`.
Everything else stays readable, for the audit and for counting. Once the key is destroyed
(erasure) the box cannot be opened: the event is read with its placeholders.

Every publisher seals in its outbox relay (laoke/outbox.py), which also destroys an
erasure's keys before it publishes the `CustomerErased` (laoke/keyring.py). Readers load
the keys of a batch's customers (`load_for`) before reading it in a worker thread.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Protocol

import orjson
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError
from pydantic_core import from_json, to_json

from events import EVENT_TYPES, CustomerErased, Event, Rejected, parse_recorded
from events.parsing import Opener
from events.personal import SEALED, put_personal, take_personal
from laoke.keyring import NONCE, Keyring
from laoke.publishing import Outgoing

RETENTION_PREFIX = "retention."
_EVENT_TYPE = re.compile(rb'"event_type":"([A-Za-z]{1,80})"')
_SEALED = b'"' + SEALED.encode() + b'":'
ERASURE_SUFFIX = ".CustomerErased"


def subject_customer(subject: str) -> str | None:
    """The customer token of `retention.<dealership>.<customer>.<EventType>`."""
    parts = subject.split(".")
    return parts[2] if len(parts) == 4 and parts[0] == "retention" else None


class Recorded(Protocol):
    """A RETENTION message as a reader holds it (nats-py's `Msg`, projections' `Message`)."""

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...


async def load_for(keyring: Keyring | None, messages: Iterable[Recorded]) -> None:
    """Read into the cache the keys these RETENTION messages need: those of the customers
    whose message has a sealed box, the only ones `read_recorded` opens with a key. A
    plain message needs none, and a customer never given a key would cost a key store
    request at every call (in every service, for every run)."""
    if keyring is not None:
        customers = (subject_customer(m.subject) for m in messages if is_sealed(m.data))
        await keyring.load(c for c in customers if c is not None)


async def seal_all(keyring: Keyring, messages: Sequence[Outgoing]) -> list[Outgoing]:
    """The messages as they go on RETENTION: erasures' keys destroyed first, then every
    recorded event sealed (dead letters and other subjects pass as they are)."""
    for message in messages:
        if message.subject.startswith(RETENTION_PREFIX) and message.subject.endswith(
            ERASURE_SUFFIX
        ):
            await keyring.destroy(json.loads(message.body)["erased_ids"])
    if not keyring.enabled:
        return list(messages)
    taken = [_personal(m) for m in messages]
    # Keys only for customers with something to seal: most decisions carry nothing
    # personal, and a key asked for needlessly is a key store round trip (or two).
    await keyring.ensure(t[0] for t in taken if t is not None)
    pairs = zip(messages, taken, strict=True)
    return [m if t is None else _sealed(keyring, m, *t) for m, t in pairs]


def _personal(message: Outgoing) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """The customer, the event's JSON with its personal values taken out, and those values;
    None for a message with nothing to seal (not a customer's, sealed already, nothing
    personal)."""
    customer_id = subject_customer(message.subject)
    if customer_id is None:
        return None
    raw = from_json(message.body)
    if SEALED in raw:
        return None
    values = take_personal(raw)
    return (customer_id, raw, values) if values else None


def _sealed(
    keyring: Keyring,
    message: Outgoing,
    customer_id: str,
    raw: dict[str, Any],
    values: dict[str, Any],
) -> Outgoing:
    cipher = keyring.cipher(customer_id)
    if cipher is not None:  # erased: the values are not kept at all
        nonce = secrets.token_bytes(NONCE)
        plain = to_json(values)
        box = nonce + cipher.encrypt(nonce, plain, str(raw["event_id"]).encode())
        raw[SEALED] = {"key": customer_id, "box": base64.b64encode(box).decode()}
    return replace(message, body=to_json(raw))


def opened(keyring: Keyring, raw: dict[str, Any], sealed: Any) -> dict[str, Any] | None:
    """The values in an event's box, by dotted path; None once its key is destroyed."""
    cipher = keyring.cipher(str(sealed["key"]))
    if cipher is None:
        return None
    box = base64.b64decode(sealed["box"])
    try:
        plain = cipher.decrypt(box[:NONCE], box[NONCE:], str(raw["event_id"]).encode())
    except InvalidTag:
        raise Rejected("bad_value", "sealed: the box does not open with its key") from None
    values: dict[str, Any] = from_json(plain)
    return values


def opener(keyring: Keyring) -> Opener:
    """The `events.parsing.Opener` of this keyring: the box's values put back, when its
    customer's key is still there (erased: the placeholders stay)."""

    def open_box(raw: dict[str, Any], sealed: Any) -> None:
        values = opened(keyring, raw, sealed)
        if values is not None:
            put_personal(raw, values)

    return open_box


def is_sealed(data: bytes) -> bool:
    """Whether a recorded event (compact JSON, as publishers write it) has a sealed box."""
    return _SEALED in data


def read_recorded(data: bytes, keyring: Keyring | None) -> Event:
    """`parse_recorded`, opening the event's box with the keyring's keys. An event of the
    current version takes one pass (a plain one: validated as it is; a sealed one: JSON in,
    box opened, validated); anything unusual goes through `parse_recorded` for its exact
    verdict."""
    event: Event | None = None
    if not is_sealed(data):
        event = _read_plain(data)
    elif keyring is not None:
        event = _read_sealed(data, keyring)
    if event is None:
        event = parse_recorded(data, opener(keyring) if keyring is not None else None)
    noted(keyring, event)
    return event


def _read_plain(data: bytes) -> Event | None:
    """A plain event's fast path: the type found without decoding the JSON (a quote inside
    a JSON string is escaped, so the pattern only matches a key) and the bytes validated
    straight into that model. The model's literal `event_type` and `schema_version` must
    then agree with the body, and it forbids other keys (a box), so a nested key that
    happened to match, an older version or a box spelt otherwise just fails over."""
    found = _EVENT_TYPE.search(data)
    model = EVENT_TYPES.get(found.group(1).decode()) if found else None
    if model is not None:
        try:
            event = model.model_validate_json(data, strict=True, context={"trusted": True})
        except ValidationError:
            pass
        else:
            if "schema_version" in event.model_fields_set:
                return event
    return None


def _read_sealed(data: bytes, keyring: Keyring) -> Event | None:
    try:
        raw = from_json(data)
        model = EVENT_TYPES[raw["event_type"]]
        sealed = raw.pop(SEALED)
    except (ValueError, KeyError, TypeError):
        return None
    values = opened(keyring, raw, sealed)
    if values is not None:
        put_personal(raw, values)
    try:  # orjson writes the object back at half pydantic's cost (what it refuses: below)
        body = orjson.dumps(raw)
    except TypeError:
        return None
    try:
        event = model.model_validate_json(body, strict=True, context={"trusted": True})
    except ValidationError:
        return None
    return event if "schema_version" in event.model_fields_set else None


def noted(keyring: Keyring | None, event: Event) -> None:
    """An erasure read: this process forgets the erased customers' keys too."""
    if keyring is not None and isinstance(event, CustomerErased):
        keyring.forget(event.erased_ids)
