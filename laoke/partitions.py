"""Partitions: how replicas of a service share the work without breaking per-customer order.

Every message belongs to the partition of its dealership: FNV-1a of the dealership id, mod
`LAOKE_PARTITIONS`. A partition is handled by one replica at a time, in stream order, so a
dealership's messages (and so each customer's) are handled in order; dealership-wide state
(intake's identities, merges, referrals between two customers) never spans partitions.

A partition has its own durable consumer (`<service>-p<k>`), its own position, and for the
event-sourced services its own store and outbox (`<service>_p<k>`). It is not tied to a
replica: `LAOKE_PARTITIONS_OWNED` says which partitions a replica runs, so moving one to
another replica (or a replacement) is a configuration change. The partition count itself
is fixed for a deployment: changing it re-assigns dealerships, which needs a rebuild.

Each partition's consumer reads the whole stream and skips other partitions' messages (a
subject token compared, no decoding): reading is cheap next to handling, and the contract's
subjects (`retention.<dealership>.<customer>.<Type>`) stay as they are. See docs/scale.md.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from laoke.clock import Clock
from laoke.settings import LaokeSettings

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193


@functools.lru_cache(maxsize=4096)
def partition_of(dealership_id: str, count: int) -> int:
    """The partition of a dealership: FNV-1a (32 bit) of its id, mod `count`."""
    digest = FNV_OFFSET
    for byte in dealership_id.encode():
        digest = ((digest ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return digest % count


@dataclass(frozen=True)
class Partition:
    index: int
    count: int

    @property
    def whole(self) -> bool:
        """The only partition: names stay as they were before partitions existed."""
        return self.count == 1

    def durable(self, service: str) -> str:
        return service if self.whole else f"{service}-p{self.index}"

    def store_name(self, service: str) -> str:
        return service if self.whole else f"{service}_p{self.index}"

    def has(self, dealership_id: str) -> bool:
        return self.whole or partition_of(dealership_id, self.count) == self.index

    def owns(self, subject: str, dealership_token: int) -> bool:
        """Whether the message on `subject` is this partition's. A subject too short to name
        a dealership (only DEALER_IN can hold one) goes to partition 0, which rejects it."""
        if self.whole:
            return True
        tokens = subject.split(".", dealership_token + 1)
        if len(tokens) <= dealership_token + 1:
            return self.index == 0
        return self.has(tokens[dealership_token])


WHOLE = Partition(0, 1)  # unpartitioned: everything

# Where the dealership is in each stream's subjects.
DEALER_IN_TOKEN = 2  # dealer.in.<dealership>.<Type>
RETENTION_TOKEN = 1  # retention.<dealership>.<customer>.<Type>


def owned_partitions(settings: LaokeSettings) -> list[Partition]:
    """The partitions this process runs: `LAOKE_PARTITIONS_OWNED`, or all of them."""
    count = settings.partitions
    owned = settings.partitions_owned or list(range(count))
    return [Partition(index, count) for index in sorted(set(owned))]


class PartitionGroup:
    """Several partitions of one service in one process, each its own instance."""

    def __init__(self, members: list[Any]) -> None:
        self.members = members
        self.name: str = members[0].name
        self.clock: Clock = members[0].clock

    @property
    def workers(self) -> list[Any]:
        return [worker for member in self.members for worker in member.workers]

    def for_dealership(self, dealership_id: str) -> Any | None:
        """The member that runs this dealership's partition, if this process runs it."""
        for member in self.members:
            if member.partition.has(dealership_id):
                return member
        return None

    async def start(self) -> None:
        for member in self.members:
            await member.start()

    async def stop(self) -> None:
        for member in reversed(self.members):
            await member.stop()
