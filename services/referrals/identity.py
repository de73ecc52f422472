"""Referrals following intake's identity records (docs/identity.md "Who follows what"):
a merge folds a duplicate into its survivor, a split gives the restored customer back, and
a car changing hands leaves its previous owner's record for its new owner's.

Everything here reads the aggregates as the stream left them, never a clock, so replaying
the history decides the same.
"""

from __future__ import annotations

from collections.abc import Callable

from events import CustomersMerged, CustomersUnmerged, VehicleOwnershipChanged
from laoke.work import UnitOfWork
from services.referrals.aggregates import (
    KnownCustomer,
    PhoneIndex,
    Referral,
    known_customer_id,
    phone_index_id,
    referral_aggregate_id,
)

Canonical = Callable[[UnitOfWork, str, str], KnownCustomer]
"""The canonical (surviving) customer of an id, created on first sight."""


def merged(work: UnitOfWork, event: CustomersMerged, customer: Canonical) -> None:
    survivor = customer(work, event.dealership_id, event.survivor_id)
    for merged_id in event.merged_ids:
        found = work.get(known_customer_id(event.dealership_id, merged_id), KnownCustomer)
        if found is None or found.merged_into is not None or found is survivor:
            continue
        survivor.absorb_from(found)
        found.merge_into(survivor_id=survivor.customer_id)


def split(work: UnitOfWork, event: CustomersUnmerged, customer: Canonical) -> None:
    """The restored customer is its own referrer and referee again: its phones point at it,
    the survivor gives back what it brought, and the open claims its re-attributed events
    made (claims received under the survivor while merged) go back with them."""
    dealership = event.dealership_id
    restored = work.get(known_customer_id(dealership, event.restored_id), KnownCustomer)
    if restored is None or restored.merged_into is None:
        return  # never seen here, or a replayed split
    survivor = customer(work, dealership, event.customer_id)
    survivor.split_from(restored)
    for phone in restored.phones:
        index = work.get(phone_index_id(dealership, phone), PhoneIndex)
        if index is not None and index.customer_id != restored.customer_id:
            index.reassign(customer_id=restored.customer_id)
    reattributed = set(event.reattributed_event_ids)
    for referral_id in list(survivor.open_claims):
        referral = work.get(referral_aggregate_id(dealership, referral_id), Referral)
        if referral is not None and referral.claim_event_id in reattributed:
            survivor.hand_claim(restored, referral)


def _chain(work: UnitOfWork, dealership_id: str, customer_id: str) -> list[KnownCustomer]:
    """The records `customer_id` stands for, itself first, then each it was merged into."""
    chain: list[KnownCustomer] = []
    next_id: str | None = customer_id
    while next_id is not None and all(c.customer_id != next_id for c in chain):
        found = work.get(known_customer_id(dealership_id, next_id), KnownCustomer)
        if found is None:
            break
        chain.append(found)
        next_id = found.merged_into
    return chain


def ownership_changed(
    work: UnitOfWork, event: VehicleOwnershipChanged, customer: Canonical
) -> None:
    """The car leaves its previous owner (every record they are merged through, so a later
    split gives none of them a car sold while merged) and is the new owner's from
    `changed_at`: as the previous owner's record had it (model, colour), on the road from
    the sale unless that record shows it bought and not yet delivered."""
    dealership, vin = event.dealership_id, event.vin
    sellers = _chain(work, dealership, event.previous_owner_id)
    buyer = customer(work, dealership, event.owner_id)
    if sellers and sellers[-1] is buyer:
        return  # one person (merged since): nothing changes hands
    had = next((dict(s.vehicles[vin]) for s in reversed(sellers) if vin in s.vehicles), None)
    for seller in sellers:
        if vin in seller.vehicles:
            seller.sell(vin=vin, at=event.changed_at)
    undelivered = had is not None and had.get("delivered_at") is None
    buyer.acquire(
        vin=vin,
        model=had.get("model") if had else None,
        colour=had.get("colour") if had else None,
        delivered_at=None if undelivered else event.changed_at,
    )
