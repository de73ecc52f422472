"""The identity rule, pure (services/intake/rules.py): person keys name people, a VIN names a
vehicle. Table: phone / external id / VIN, each unknown, known (the event's person) or
another person's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.intake.aggregates import IdentityKey
from services.intake.rules import Resolution, resolve

PHONE = "phone:+8613800138000"
EXT = "ext:dms:42"
VIN = "vin:LSGKB54E7LS123456"
OTHER_PHONE = "phone:+8613900139000"
A, B, NEW = "c-a", "c-b", "c-new"  # A was first seen before B
FIRST_SEEN = {A: datetime(2024, 1, 1, tzinfo=UTC), B: datetime(2025, 1, 1, tzinfo=UTC)}


def _resolve(keys: list[str], owners: dict[str, str]) -> Resolution:
    return resolve(keys, owners, FIRST_SEEN, NEW)


# (keys the event carries, who owns which of them) -> (customer, merged, ownership changes)
CASES = [
    # phone
    ([PHONE], {}, NEW, [], []),
    ([PHONE], {PHONE: A}, A, [], []),
    ([PHONE, OTHER_PHONE], {PHONE: B, OTHER_PHONE: A}, A, [B], []),
    # external id of one source
    ([EXT], {}, NEW, [], []),
    ([EXT], {EXT: B}, B, [], []),
    ([EXT, PHONE], {EXT: B, PHONE: A}, A, [B], []),
    # VIN alone: the vehicle's owner (at the event's time), or a new customer
    ([VIN], {}, NEW, [], []),
    ([VIN], {VIN: B}, B, [], []),
    # VIN beside a person: the VIN follows the person, never the other way round
    ([PHONE, VIN], {}, NEW, [], []),
    ([PHONE, VIN], {PHONE: A}, A, [], []),
    ([PHONE, VIN], {PHONE: A, VIN: A}, A, [], []),
    ([PHONE, VIN], {VIN: A}, NEW, [], [(VIN, A)]),
    ([PHONE, VIN], {PHONE: B, VIN: A}, B, [], [(VIN, A)]),
    ([EXT, VIN], {VIN: A}, NEW, [], [(VIN, A)]),
    ([EXT, VIN], {EXT: B, VIN: A}, B, [], [(VIN, A)]),
]


@pytest.mark.parametrize(("keys", "owners", "customer", "merged", "changes"), CASES)
def test_resolution_table(
    keys: list[str],
    owners: dict[str, str],
    customer: str,
    merged: list[str],
    changes: list[tuple[str, str]],
) -> None:
    resolution = _resolve(keys, owners)
    assert resolution.customer_id == customer
    assert resolution.is_new == (customer == NEW)
    assert resolution.merged_ids == merged
    assert resolution.ownership_changes == changes


def test_a_merge_names_the_person_keys_that_tied_the_customers_as_evidence() -> None:
    resolution = _resolve([PHONE, OTHER_PHONE, VIN], {PHONE: B, OTHER_PHONE: A, VIN: A})
    assert resolution.merged_ids == [B]
    assert resolution.evidence == [(PHONE, B), (OTHER_PHONE, A)]
    assert "vin" not in resolution.because


def test_a_vin_of_another_person_never_merges() -> None:
    resolution = _resolve([PHONE, VIN], {PHONE: A, VIN: B})
    assert resolution.merged_ids == []
    assert resolution.evidence == []
    assert resolution.ownership_changes == [(VIN, B)]


def test_an_event_with_vins_of_two_owners_goes_to_the_first_and_moves_no_car() -> None:
    other_vin = "vin:LSGKB54E7LS654321"
    resolution = _resolve([VIN, other_vin], {VIN: B, other_vin: A})
    assert (resolution.customer_id, resolution.ownership_changes) == (B, [])


def test_a_vin_names_its_owner_at_each_time_even_when_a_sale_is_told_late() -> None:
    jan, jun, dec = (datetime(2025, m, 1, tzinfo=UTC) for m in (1, 6, 12))
    vehicle = IdentityKey(dealership_id="d", key=VIN, customer_id=A, since=jan)
    vehicle.change_owner(customer_id="c-c", since=dec)
    vehicle.change_owner(customer_id=B, since=jun)  # the June sale, sent after December's
    assert [vehicle.owner_at(datetime(2025, m, 2, tzinfo=UTC)) for m in (1, 6, 12)] == [
        A,
        B,
        "c-c",
    ]
    assert vehicle.owner_at(datetime(2024, 1, 1, tzinfo=UTC)) == A, "before the first: the first"
    assert vehicle.customer_id == "c-c", "the current owner"
