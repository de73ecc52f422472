"""Reusable field types: ids, VINs, money, free text.

Custom rule failures raise `PydanticCustomError` whose type is already a rejection slug
(see `events.errors.REASONS`), so `events.parsing` can report them as they are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

DEALERSHIP_ID_PATTERN = r"^[a-z0-9-]{1,64}$"
CUSTOMER_ID_PATTERN = r"^[a-z0-9-]{1,64}$"
ENTITY_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
SOURCE_PATTERN = r"^[a-z0-9_.-]+$"
EVENT_TYPE_PATTERN = r"^[A-Z][A-Za-z0-9]{0,63}$"
VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"

MAX_MONEY_CNY = Decimal(100_000_000)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("bad_value", "text contains a NUL character")
    return value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _money_to_json(value: Decimal) -> int | float:
    # A JSON number, not a string: 2 decimal places and <= 1e8 survive a float exactly.
    return int(value) if value == value.to_integral_value() else float(value)


DealershipId = Annotated[str, StringConstraints(pattern=DEALERSHIP_ID_PATTERN)]
"""A dealership's id: `[a-z0-9-]{1,64}`; also a NATS subject token."""

CustomerId = Annotated[str, StringConstraints(pattern=CUSTOMER_ID_PATTERN)]
"""The canonical customer id intake's identity resolution assigns."""

EntityId = Annotated[str, StringConstraints(pattern=ENTITY_ID_PATTERN)]
"""Ids of things other systems name: complaints, repair orders, surveys, staff, ..."""

StaffId = EntityId
"""A staff member's id (advisor, manager); `system` for automatic actions."""

Source = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=SOURCE_PATTERN)]
"""The emitting system (`dms`, `showroom`, ...) or, on recorded decisions, the service."""

EventTypeName = Annotated[str, StringConstraints(pattern=EVENT_TYPE_PATTERN)]

Vin = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(pattern=VIN_PATTERN),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$",
            "description": "VIN: 17 characters, no I, O or Q; upper-cased on input.",
        }
    ),
]
"""A vehicle identification number: upper-cased, 17 chars of `[A-HJ-NPR-Z0-9]` (no I, O, Q)."""

Money = Annotated[
    Decimal,
    Field(ge=0, le=MAX_MONEY_CNY, decimal_places=2),
    PlainSerializer(_money_to_json, return_type=int | float, when_used="json"),
]
"""An amount in CNY: 0 to 100,000,000, at most 2 decimal places; a JSON number on output."""


Name = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_no_nul)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=128), AfterValidator(_no_nul)]
Explanation = Annotated[
    str, StringConstraints(min_length=1, max_length=500), AfterValidator(_no_nul)
]
"""Why a decision was taken, for people reading the record (up to 500 chars)."""
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(_no_nul)]
Note = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_nul)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=32), AfterValidator(_no_nul)]
"""A phone number as sent (not normalised: see `events.phones.normalise_phone`)."""

# Separators people type inside a plate (`京A·12345`, `京A 12345`, `京A-12345`).
_PLATE_SEPARATORS = str.maketrans("", "", " \t·•・.-")


def plate_spelling(value: str) -> str:
    """A licence plate as one spelling: separators out, Latin letters upper-cased."""
    return value.translate(_PLATE_SEPARATORS).upper()


def _plate(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    plate = plate_spelling(value)
    if not (2 <= len(plate) <= 16) or not plate.isalnum():
        raise PydanticCustomError(
            "bad_value", "a licence plate is 2-16 letters or digits (separators aside)"
        )
    return plate


Plate = Annotated[
    str,
    BeforeValidator(_plate),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 32,
            "description": "Licence plate, e.g. 京A12345 or 粤B·D12345: spaces, dots and dashes"
            " are dropped and Latin letters upper-cased on input; 2-16 letters or digits remain.",
        }
    ),
]
"""A licence plate (车牌号), normalised so that one plate has one spelling (searchable)."""

PERSONAL: Any = Field(json_schema_extra={"x-personal": True})
"""The marker of a personal field: `Annotated[Name, PERSONAL]`. Recorded events carry such
fields sealed with their customer's key (events/personal.py; docs/crypto.md)."""


def personal_entries(*keys: str) -> Any:
    """The marker of a dict field whose entries under `keys` are personal (the rest not)."""
    return Field(json_schema_extra={"x-personal-entries": list(keys)})


Channel = Literal["phone", "sms", "wechat", "email", "letter"]
"""A channel to contact a customer on."""
