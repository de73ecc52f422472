"""Intake's identity state at work: resolve an event's customer, merge, change a vehicle's
owner, undo a merge (`CustomerSplitRequested`) and erase a customer
(`PersonalDataErasureRequested`), in one unit of work.

rules.py decides; this module loads what the rule needs (who claimed each key, following
merges), applies the decision to the aggregates and stages the recorded events. Keys stay
with the customer that claimed them: a merge only points the merged customer at its
survivor, so a split gives every key back its person by clearing that pointer. While
merged, the events a customer's keys bring in are noted on it (`absorbed`), so a split can
say which of them are the restored customer's (`CustomersUnmerged.reattributed_event_ids`).
An erased customer claims nothing any more: its keys are released, and a key still naming
it (a car it bought) counts as unknown; a merge it was in cannot be split.
"""

from __future__ import annotations

from datetime import datetime
from uuid import uuid5

from events import (
    CustomerErased,
    CustomersMerged,
    CustomerSplitRequested,
    CustomersUnmerged,
    Event,
    MergeEvidence,
    PersonalDataErasureRequested,
    Rejected,
    VehicleOwnershipChanged,
)
from laoke.decisions import decision
from laoke.work import UnitOfWork
from services.intake.aggregates import (
    CustomerIdentity,
    IdentityKey,
    MergeRecord,
    merge_record_id,
)
from services.intake.deadlines import cancel, note, schedule_new
from services.intake.identities import Identities, erase_customers
from services.intake.retention import DEFAULT_YEARS, Facts, noted
from services.intake.rules import (
    IdentityError,
    identity_keys,
    is_vehicle_key,
    key_kind,
    resolve,
    vin_of,
)

SERVICE = "intake"


def resolve_and_record(
    work: UnitOfWork,
    event: Event,
    region: str,
    received_at: datetime,
    secret: bytes = b"",
    years: int = DEFAULT_YEARS,
    keys: list[str] | None = None,
) -> list[Event]:
    """The event as recorded under its customer, after the decisions it caused (a merge,
    vehicles changing hands), in the order they are to be recorded. It counts in the
    customer's facts for the retention limit (`years`, the dealership's: deadlines.py).
    `keys`: its `identity_keys`, when the caller worked them out already."""
    ids = Identities(work, event.dealership_id)
    at = event.occurred_at
    keys = identity_keys(event, region, secret) if keys is None else keys
    found = {key: agg for key in keys if (agg := ids.key(key)) is not None}
    claims = {
        key: agg.owner_at(at) if is_vehicle_key(key) else agg.customer_id
        for key, agg in found.items()
    }
    chains = {key: ids.chain(claimant) for key, claimant in claims.items() if claimant}
    chains = {key: chain for key, chain in chains.items() if not ids.identity(chain[-1]).erased}
    claims = {key: claims[key] for key in chains}  # "" or an erased customer claims nothing
    owners = {key: chain[-1] for key, chain in chains.items()}
    first_seen = {owner: ids.identity(owner).first_seen for owner in owners.values()}
    resolution = resolve(keys, owners, first_seen, str(uuid5(event.event_id, "customer")))
    customer_id = resolution.customer_id
    record = event.model_copy(
        update={
            "customer_id": customer_id,
            "correlation_id": event.event_id,
            "causation_id": event.event_id,
            "received_at": received_at,
        }
    )
    if resolution.is_new:  # its facts (retention.py) from its first event: no second write
        facts = noted(Facts(), record) or Facts()
        work.add(
            CustomerIdentity(
                customer_id=customer_id,
                dealership_id=ids.dealership_id,
                first_seen=at,
                bought=facts.bought,
                touched_at=facts.touched_at,
                anchor=facts.anchor,
                heard_at=facts.heard_at,
            )
        )
    decisions: list[Event] = []
    home = customer_id
    if resolution.merged_ids:
        decisions.append(_merge(ids, record, resolution.merged_ids, resolution.evidence))
        for merged_id in resolution.merged_ids:  # their facts count for the survivor now
            cancel(ids, merged_id)
    else:
        home = _note_absorbed(ids, record, keys, claims, chains, customer_id)
    for key in keys:
        agg = found.get(key)
        if agg is None:  # a new key: the person the event is about claims it
            work.add(
                IdentityKey(dealership_id=ids.dealership_id, key=key, customer_id=home, since=at)
            )
        elif key in claims or (is_vehicle_key(key) and ids.living(agg.customer_id)):
            continue
        elif is_vehicle_key(key):  # its owners were erased: the event's person owns it now
            agg.change_owner(customer_id=home, since=at)
            work.add(agg)
        else:  # released by an erasure: claimed anew
            agg.reassign(customer_id=home)
            work.add(agg)
        identity = ids.identity(home)
        identity.add_key(key=key)
        work.add(identity)
    for key, previous in resolution.ownership_changes:
        vehicle = found[key]
        vehicle.change_owner(customer_id=home, since=at)
        work.add(vehicle)
        decisions.append(
            decision(
                VehicleOwnershipChanged,
                record,
                source=SERVICE,
                occurred_at=at,
                name=vin_of(key),
                vin=vin_of(key),
                previous_owner_id=previous,
                owner_id=customer_id,
                changed_at=at,
            )
        )
    if resolution.is_new:
        schedule_new(ids, customer_id, years)
    else:
        note(ids, record, home, customer_id, years, regrouped=bool(resolution.merged_ids))
    return [*decisions, record]


def _merge(
    ids: Identities, record: Event, merged_ids: list[str], evidence: list[tuple[str, str]]
) -> CustomersMerged:
    survivor_id = record.customer_id
    assert survivor_id is not None
    for merged_id in merged_ids:
        merged = ids.identity(merged_id)
        merged.merge_into(survivor_id=survivor_id)
        ids.work.add(merged)
    because = ", ".join(f"{key} of {owner}" for key, owner in evidence)
    merge = decision(
        CustomersMerged,
        record,
        source=SERVICE,
        occurred_at=record.occurred_at,
        survivor_id=survivor_id,
        merged_ids=merged_ids,
        because=because[:500],
        evidence=[
            MergeEvidence(key_kind=key_kind(key), key=key[:128], customer_id=owner)
            for key, owner in evidence
        ],
    )
    ids.work.add(
        MergeRecord(
            dealership_id=ids.dealership_id,
            merge_event_id=str(merge.event_id),
            survivor_id=survivor_id,
            merged_ids=merged_ids,
        )
    )
    survivor = ids.identity(survivor_id)
    survivor.survive(merge_event_id=str(merge.event_id))
    ids.work.add(survivor)
    return merge


def _note_absorbed(
    ids: Identities,
    record: Event,
    keys: list[str],
    claims: dict[str, str],
    chains: dict[str, list[str]],
    customer_id: str,
) -> str:
    """Note the event on every merged customer whose keys alone brought it in; returns the
    deepest customer holding all the keys that named the person (who claims new keys)."""
    naming = [k for k in keys if k in claims and chains[k][-1] == customer_id]
    if any(not is_vehicle_key(k) for k in naming):
        naming = [k for k in naming if not is_vehicle_key(k)]  # persons, not their cars
    if not naming:
        return customer_id
    common = [c for c in chains[naming[0]] if all(c in chains[k] for k in naming)]
    raw_owners = sorted({claims[k] for k in naming})
    for merged_id in common[:-1]:
        identity = ids.identity(merged_id)
        identity.absorb(event_id=str(record.event_id), owners=raw_owners)
        ids.work.add(identity)
    return common[0]


def split(
    work: UnitOfWork,
    event: CustomerSplitRequested,
    received_at: datetime,
    years: int = DEFAULT_YEARS,
) -> list[Event]:
    """Undo the merge the request names: the request as recorded, then one
    `CustomersUnmerged` per customer it gives back (each with its own facts again, for the
    retention limit). Refused (dead-lettered) when no such merge was recorded in the
    dealership, or when it was split before."""
    ids = Identities(work, event.dealership_id)
    merge_id = str(event.merge_event_id)
    merge = work.get(merge_record_id(ids.dealership_id, merge_id), MergeRecord)
    if merge is None:
        raise Rejected(
            "unknown_merge",
            f"merge_event_id: no merge {merge_id} was recorded for this dealership",
            "merge_event_id",
        )
    if any(ids.identity(c).erased for c in (merge.survivor_id, *merge.merged_ids)):
        raise Rejected(
            "customer_erased",
            f"merge_event_id: merge {merge_id} is of an erased customer; their personal data"
            " is destroyed, so there is nothing left to split",
            "merge_event_id",
        )
    pending = [
        m
        for m in merge.merged_ids
        if m not in merge.split_ids and ids.identity(m).merged_into == merge.survivor_id
    ]
    if not pending:
        raise Rejected(
            "already_split", f"merge_event_id: merge {merge_id} was split before", "merge_event_id"
        )
    survivor_now = ids.canonical(merge.survivor_id)
    record = event.model_copy(
        update={
            "customer_id": survivor_now,
            "correlation_id": event.event_id,
            "causation_id": event.event_id,
            "received_at": received_at,
        }
    )
    decisions: list[Event] = [record]
    for restored_id in pending:
        restored = ids.identity(restored_id)
        absorbed = restored.absorbed
        restored.unmerge()
        work.add(restored)
        _give_keys_back(ids, restored, survivor_now)
        decisions.append(
            decision(
                CustomersUnmerged,
                record,
                source=SERVICE,
                occurred_at=event.occurred_at,
                name=restored_id,
                merge_event_id=event.merge_event_id,
                survivor_id=merge.survivor_id,
                restored_id=restored_id,
                requested_by=event.requested_by,
                reason=event.reason,
                reattributed_event_ids=[
                    event_id
                    for event_id, owners in absorbed
                    if {ids.canonical(o) for o in owners} == {restored_id}
                ],
            )
        )
    merge.split(restored_ids=pending)
    work.add(merge)
    for customer_id in (survivor_now, *pending):  # each by their own records now
        note(ids, record, customer_id, customer_id, years, regrouped=True)
    return decisions


def _give_keys_back(ids: Identities, restored: CustomerIdentity, survivor_id: str) -> None:
    """Stores written before merges left keys alone moved them to the survivor: the
    restored customer's own keys come back to it."""
    for key in restored.keys:
        agg = ids.key(key)
        if (
            agg is not None
            and agg.customer_id != restored.customer_id
            and ids.canonical(agg.customer_id) == survivor_id
        ):
            agg.reassign(customer_id=restored.customer_id)


def erase(
    work: UnitOfWork,
    event: PersonalDataErasureRequested,
    region: str,
    received_at: datetime,
    secret: bytes,
    years: int = DEFAULT_YEARS,
) -> list[Event]:
    """Record the request, then `CustomerErased` for the customer its hints name and every
    customer merged into them: their keys are released, so a later event with the same
    phone is a new customer. Their data keys are destroyed by the outbox relay before it
    publishes the erasure (laoke/sealing.py)."""
    ids = Identities(work, event.dealership_id)
    if not any(
        (agg := ids.key(key)) is not None and ids.living(agg.customer_id)
        for key in identity_keys(event, region, secret)
    ):
        raise IdentityError("customer", "no customer of this dealership has these hints")
    recorded = resolve_and_record(work, event, region, received_at, secret, years)
    request = recorded[-1]
    assert request.customer_id is not None
    erased_ids = erase_customers(ids, request.customer_id)
    cancel(ids, request.customer_id)
    erased = decision(
        CustomerErased,
        request,
        source=SERVICE,
        occurred_at=event.occurred_at,
        erased_ids=erased_ids,
        requested_by=event.requested_by,
        request_ref=event.request_ref,
    )
    return [*recorded, erased]
