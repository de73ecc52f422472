"""Intake's aggregates: who owns each identity key, and each canonical customer.

- `IdentityKey`: one per known phone, VIN or source-scoped external id in a dealership; it
  says which customer claimed it (a VIN: its owners over time). A merge leaves keys with the
  customer that claimed them, so undoing it gives each key back its person.
- `CustomerIdentity`: one per customer; its keys, whether (and into whom) it is merged, and
  the events recorded under its survivor because of its keys while merged (`absorbed`), the
  merges it survived, whether it was erased, and its own facts for the retention limit
  (retention.py: bought, latest touchpoint, latest receipt).
- `MergeRecord`: one per `CustomersMerged`; whom it merged, and which of them were split.

State only: rules.py decides which customer an event is about. No I/O, no clock reads.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from services.intake.retention import Facts


@lru_cache(maxsize=200_000)  # asked several times per event; uuid5 hashes each time
def key_id(dealership_id: str, key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:identity:{dealership_id}:{key}")


@lru_cache(maxsize=200_000)
def customer_aggregate_id(customer_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:customer:{customer_id}")


def merge_record_id(dealership_id: str, merge_event_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:merge:{dealership_id}:{merge_event_id}")


class IdentityKey(Aggregate):
    @staticmethod
    def create_id(dealership_id: str, key: str) -> UUID:
        return key_id(dealership_id, key)

    @event("Claimed")
    def __init__(
        self, dealership_id: str, key: str, customer_id: str, since: datetime | None = None
    ) -> None:
        self.key = key
        self.customer_id = customer_id
        self.owners: list[tuple[datetime | None, str]] = [(since, customer_id)]

    @event("Reassigned")  # stores written before merges left keys alone
    def reassign(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.owners = [(since, customer_id) for since, _ in self.owners]

    @event("OwnerChanged")
    def change_owner(self, customer_id: str, since: datetime) -> None:
        """A vehicle changed hands at `since` (may arrive late: kept in time order)."""
        self.owners = sorted(
            [*self.owners, (since, customer_id)],
            key=lambda entry: (entry[0] is not None, entry[0] or since),
        )
        self.customer_id = self.owners[-1][1]

    @event("Released")
    def release(self, customer_ids: list[str]) -> None:
        """Its erased owners let go of it ("": no one); a vehicle keeps its other owners."""
        self.owners = [(since, "" if cid in customer_ids else cid) for since, cid in self.owners]
        self.customer_id = self.owners[-1][1]

    def owner_at(self, at: datetime) -> str:
        """Who held the key at `at`: the last owner since then (before the first: the first)."""
        held = [cid for since, cid in self.owners if since is None or since <= at]
        return held[-1] if held else self.owners[0][1]


class CustomerIdentity(Aggregate):
    @staticmethod
    def create_id(customer_id: str) -> UUID:
        return customer_aggregate_id(customer_id)

    @event("Created")
    def __init__(
        self,
        customer_id: str,
        dealership_id: str,
        first_seen: datetime,
        bought: bool = False,
        touched_at: datetime | None = None,
        anchor: str | None = None,
        heard_at: datetime | None = None,
    ) -> None:
        self.customer_id = customer_id
        self.dealership_id = dealership_id
        self.first_seen = first_seen
        self.keys: list[str] = []
        self.merged_into: str | None = None
        self.absorbed: list[tuple[str, list[str]]] = []
        self.merges: list[str] = []  # the merges it survived (their MergeRecord)
        self.erased = False
        # its own facts for the retention limit (retention.py), from its first event
        self.facts = Facts(bought, touched_at, anchor, heard_at)

    @event("KeyAdded")
    def add_key(self, key: str) -> None:
        self.keys.append(key)

    @event("MergedInto")
    def merge_into(self, survivor_id: str) -> None:
        self.merged_into = survivor_id

    @event("Absorbed")
    def absorb(self, event_id: str, owners: list[str]) -> None:
        """An event recorded under the survivor while merged, whose keys were claimed by
        `owners` (this customer or customers merged into it)."""
        self.absorbed = [*self.absorbed, (event_id, owners)]

    @event("Unmerged")
    def unmerge(self) -> None:
        self.merged_into = None
        self.absorbed = []

    @event("Survived")
    def survive(self, merge_event_id: str) -> None:
        self.merges = [*self.merges, merge_event_id]

    @event("Noted")
    def note(
        self,
        bought: bool,
        touched_at: datetime | None,
        anchor: str | None,
        heard_at: datetime | None,
    ) -> None:
        """Its own facts for the retention limit, as `retention.noted` made them."""
        self.facts = Facts(bought, touched_at, anchor, heard_at)

    @event("Erased")
    def erase(self) -> None:
        """Erased (resolution.py): its keys are released, no event finds it again."""
        self.erased = True


class MergeRecord(Aggregate):
    """One `CustomersMerged` of a dealership, so a split can find and undo it exactly once."""

    @staticmethod
    def create_id(dealership_id: str, merge_event_id: str) -> UUID:
        return merge_record_id(dealership_id, merge_event_id)

    @event("Recorded")
    def __init__(
        self, dealership_id: str, merge_event_id: str, survivor_id: str, merged_ids: list[str]
    ) -> None:
        self.survivor_id = survivor_id
        self.merged_ids = list(merged_ids)
        self.split_ids: list[str] = []

    @event("Split")
    def split(self, restored_ids: list[str]) -> None:
        self.split_ids = [*self.split_ids, *restored_ids]


# Stores written before these classes moved here name them (and their events) by their old
# module: those topics still resolve, so such stores load as before.
register_topic("services.intake.identity:IdentityKey", IdentityKey)
register_topic("services.intake.identity:CustomerIdentity", CustomerIdentity)
