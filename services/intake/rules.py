"""Identity resolution: which canonical customer an inbound event is about (pure: no I/O).

`identity_keys` reads the keys an event asserts (normalised phones, VINs, source-scoped
external ids); `resolve` decides, given who owns those keys (aggregates.py). A known key
means the known customer; no known key means a new customer; keys that point to two or
more customers merge them into the oldest (the survivor keeps every key).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from events import Event, normalise_phone
from services.intake.aggregates import CustomerIdentity


class IdentityError(ValueError):
    """An identity hint that cannot be used (e.g. a phone that is not a phone)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name


# Payload fields that name the customer's own vehicle (ReferralClaimed.vin is the referee's
# new car, and the referee is the customer of that event, so it counts too).
VIN_FIELDS = ("vin",)
PHONE_LIST_FIELDS = ("phones",)


def _phone_key(raw: str, region: str) -> str:
    return f"phone:{normalise_phone(raw, region)}"


def identity_keys(event: Event, region: str = "CN") -> list[str]:
    """Every identity key the event asserts for its customer, normalised, in a stable order."""
    keys: list[str] = []
    hints = event.customer
    phones: list[tuple[str, str]] = []
    vins: list[str] = []
    if hints is not None:
        if hints.phone is not None:
            phones.append(("customer.phone", hints.phone))
        if hints.vin is not None:
            vins.append(hints.vin)
        if hints.external_id is not None:
            keys.append(f"ext:{event.source}:{hints.external_id}")
    fields = type(event).model_fields  # (getattr of a missing field is pydantic's slow path)
    for name in PHONE_LIST_FIELDS:
        for index, raw in enumerate((getattr(event, name) if name in fields else None) or []):
            phones.append((f"{name}[{index}]", raw))
    for name in VIN_FIELDS:
        vin = getattr(event, name) if name in fields else None
        if isinstance(vin, str):
            vins.append(vin)
    for field_name, raw in phones:
        try:
            keys.append(_phone_key(raw, region))
        except ValueError as exc:
            raise IdentityError(field_name, str(exc)) from None
    keys.extend(f"vin:{vin.upper()}" for vin in vins)
    return list(dict.fromkeys(keys))


@dataclass
class Resolution:
    customer_id: str
    is_new: bool
    merged_ids: list[str] = field(default_factory=list)
    because: str = ""


def resolve(
    known: dict[str, CustomerIdentity],
    key_owners: dict[str, str],
    new_customer_id: str,
) -> Resolution:
    """Decide the canonical customer, given who owns which key (already following merges).

    `known` maps each owning customer id to its identity; the survivor of a merge is the
    customer first seen earliest (ties: the smaller id), so the choice is deterministic.
    """
    owners = list(dict.fromkeys(key_owners.values()))
    if not owners:
        return Resolution(new_customer_id, is_new=True)
    survivor = min(owners, key=lambda cid: (known[cid].first_seen, cid))
    merged = [cid for cid in owners if cid != survivor]
    because = ", ".join(f"{key} of {owner}" for key, owner in key_owners.items() if owner in merged)
    return Resolution(survivor, is_new=False, merged_ids=merged, because=because)
