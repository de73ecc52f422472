"""Intake's aggregates: who owns each identity key, and each canonical customer.

- `IdentityKey`: one per known phone, VIN or source-scoped external id in a dealership; it
  says which customer owns it.
- `CustomerIdentity`: one per canonical customer; its keys, and whether it was merged.

State only: rules.py decides which customer an event is about. No I/O, no clock reads.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic


@lru_cache(maxsize=200_000)  # asked several times per event; uuid5 hashes each time
def key_id(dealership_id: str, key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:identity:{dealership_id}:{key}")


@lru_cache(maxsize=200_000)
def customer_aggregate_id(customer_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:customer:{customer_id}")


class IdentityKey(Aggregate):
    @staticmethod
    def create_id(dealership_id: str, key: str) -> UUID:
        return key_id(dealership_id, key)

    @event("Claimed")
    def __init__(self, dealership_id: str, key: str, customer_id: str) -> None:
        self.key = key
        self.customer_id = customer_id

    @event("Reassigned")
    def reassign(self, customer_id: str) -> None:
        self.customer_id = customer_id


class CustomerIdentity(Aggregate):
    @staticmethod
    def create_id(customer_id: str) -> UUID:
        return customer_aggregate_id(customer_id)

    @event("Created")
    def __init__(self, customer_id: str, dealership_id: str, first_seen: datetime) -> None:
        self.customer_id = customer_id
        self.dealership_id = dealership_id
        self.first_seen = first_seen
        self.keys: list[str] = []
        self.merged_into: str | None = None

    @event("KeyAdded")
    def add_key(self, key: str) -> None:
        self.keys.append(key)

    @event("MergedInto")
    def merge_into(self, survivor_id: str) -> None:
        self.merged_into = survivor_id


# Stores written before these classes moved here name them (and their events) by their old
# module: those topics still resolve, so such stores load as before.
register_topic("services.intake.identity:IdentityKey", IdentityKey)
register_topic("services.intake.identity:CustomerIdentity", CustomerIdentity)
