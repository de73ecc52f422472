"""Identity resolution: which canonical customer an inbound event is about (pure: no I/O).

`identity_keys` reads the keys an event asserts (normalised phones and source-scoped
external ids, each as a keyed hash; VINs plain, since a VIN names a vehicle, not a person,
and `VehicleOwnershipChanged` names it): the one place keys are formed. `resolve` decides,
given who owns those keys (aggregates.py, already following merges), by the rule of
docs/identity.md:

- A **person key** (phone, external id of one source) names a person. Known person keys
  name the known customer; person keys of two or more customers merge them into the one
  first seen, and the merge names those keys as its evidence. Only unknown person keys: a
  new customer.
- A **VIN** names a vehicle, never a person. Beside person keys, a VIN owned by someone else
  (at the event's time) changes hands to the event's person (`VehicleOwnershipChanged`);
  the two people are never merged for it. An event with only a VIN belongs to the
  vehicle's owner at the event's time (a new customer when the VIN is unknown).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime

from events import Event, normalise_phone


class IdentityError(ValueError):
    """An identity hint that cannot be used (e.g. a phone that is not a phone)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name


# Payload fields that name the customer's own vehicle (ReferralClaimed.vin is the referee's
# new car, and the referee is the customer of that event, so it counts too).
VIN_FIELDS = ("vin",)
PHONE_LIST_FIELDS = ("phones",)
VIN_PREFIX = "vin:"


def identity_key(kind: str, value: str, secret: bytes) -> str:
    """A person key's one form: its kind and a keyed hash (HMAC-SHA256) of the normalised
    value, so that intake's store and `CustomersMerged` hold no phone or id (the secret
    comes from the master key: laoke/keyring.py)."""
    digest = hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:32]}"


def identity_keys(event: Event, region: str = "CN", secret: bytes = b"") -> list[str]:
    """Every identity key the event asserts for its customer, normalised (person keys hashed
    with `secret`), in a stable order."""
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
            keys.append(identity_key("ext", f"{event.source}:{hints.external_id}", secret))
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
            keys.append(identity_key("phone", normalise_phone(raw, region), secret))
        except ValueError as exc:
            raise IdentityError(field_name, str(exc)) from None
    keys.extend(f"{VIN_PREFIX}{vin.upper()}" for vin in vins)
    return list(dict.fromkeys(keys))


def is_vehicle_key(key: str) -> bool:
    return key.startswith(VIN_PREFIX)


def vin_of(key: str) -> str:
    return key.removeprefix(VIN_PREFIX)


def key_kind(key: str) -> str:
    """`phone`, `external_id` or `vin`: what a key names."""
    if is_vehicle_key(key):
        return "vin"
    return "phone" if key.startswith("phone:") else "external_id"


@dataclass
class Resolution:
    customer_id: str
    is_new: bool
    merged_ids: list[str] = field(default_factory=list)
    # (person key, the customer it named) for every known person key of a merging event
    evidence: list[tuple[str, str]] = field(default_factory=list)
    # (VIN key, its previous owner) for each vehicle the customer now owns instead
    ownership_changes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def because(self) -> str:
        return ", ".join(f"{key} of {owner}" for key, owner in self.evidence)


def resolve(
    keys: list[str],
    owners: dict[str, str],
    first_seen: dict[str, datetime],
    new_customer_id: str,
) -> Resolution:
    """Decide the canonical customer of an event carrying `keys`.

    `owners`: the canonical customer owning each known key (a VIN: its owner at the event's
    time); `first_seen`: when each of those customers was first seen. The survivor of a
    merge is the customer first seen earliest (ties: the smaller id), so the choice is
    deterministic.
    """
    person = [k for k in keys if not is_vehicle_key(k)]
    vehicles = [k for k in keys if is_vehicle_key(k)]
    person_owners = list(dict.fromkeys(owners[k] for k in person if k in owners))
    if person_owners:
        survivor = min(person_owners, key=lambda cid: (first_seen[cid], cid))
        resolution = Resolution(survivor, is_new=False)
        if len(person_owners) > 1:
            resolution.merged_ids = [c for c in person_owners if c != survivor]
            resolution.evidence = [(k, owners[k]) for k in person if k in owners]
    elif person:
        resolution = Resolution(new_customer_id, is_new=True)
    else:  # only VINs: the (first known) vehicle's owner; the others are not moved by it
        vehicle_owners = [owners[k] for k in vehicles if k in owners]
        if not vehicle_owners:
            return Resolution(new_customer_id, is_new=True)
        return Resolution(vehicle_owners[0], is_new=False)
    resolution.ownership_changes = [
        (k, owners[k]) for k in vehicles if k in owners and owners[k] != resolution.customer_id
    ]
    return resolution
