"""A dealership's customers as one unit of work sees them: identities, keys, merge chains,
and what erasing a customer does to them (on request, resolution.py; by the retention
limit, deadlines.py)."""

from __future__ import annotations

from laoke.work import UnitOfWork
from services.intake.aggregates import (
    CustomerIdentity,
    IdentityKey,
    MergeRecord,
    customer_aggregate_id,
    key_id,
    merge_record_id,
)


class Identities:
    """The customers of one dealership as this unit of work sees them."""

    def __init__(self, work: UnitOfWork, dealership_id: str) -> None:
        self.work = work
        self.dealership_id = dealership_id

    def identity(self, customer_id: str) -> CustomerIdentity:
        found = self.work.get(customer_aggregate_id(customer_id), CustomerIdentity)
        assert found is not None, customer_id
        return found

    def chain(self, customer_id: str) -> list[str]:
        """`customer_id`, the customer it is merged into, and so on to the canonical one."""
        chain = [customer_id]
        while (next_id := self.identity(chain[-1]).merged_into) and next_id not in chain:
            chain.append(next_id)
        return chain

    def canonical(self, customer_id: str) -> str:
        return self.chain(customer_id)[-1]

    def key(self, key: str) -> IdentityKey | None:
        return self.work.get(key_id(self.dealership_id, key), IdentityKey)

    def living(self, customer_id: str) -> bool:
        """Whether `customer_id` ("": no one) names a customer that was not erased."""
        return bool(customer_id) and not self.identity(self.canonical(customer_id)).erased


def merged_under(ids: Identities, customer_id: str) -> list[str]:
    """`customer_id` and every customer merged into it at any depth, read from the merges
    each survived (a customer split off since is not under it)."""
    found = [customer_id]
    for current in found:  # grows while read: the merged customers' own merges
        for merge_event_id in ids.identity(current).merges:
            merge = ids.work.get(merge_record_id(ids.dealership_id, merge_event_id), MergeRecord)
            assert merge is not None, merge_event_id
            found.extend(
                m
                for m in merge.merged_ids
                if m not in found and ids.identity(m).merged_into == current
            )
    return found


def erase_customers(ids: Identities, customer_id: str) -> list[str]:
    """Erase the canonical `customer_id` and every customer merged into them: their keys are
    released (a later event with the same phone is a new customer) and no event finds them
    again. Returns the erased ids, `customer_id` first (`CustomerErased.erased_ids`)."""
    erased_ids = merged_under(ids, customer_id)
    for erased_id in erased_ids:
        identity = ids.identity(erased_id)
        for key in identity.keys:
            if (agg := ids.key(key)) is not None:
                agg.release(customer_ids=erased_ids)
                ids.work.add(agg)
        identity.erase()
        ids.work.add(identity)
    return erased_ids
