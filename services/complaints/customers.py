"""Which complaints each customer has, so a merge can move them (pure: no I/O).

Complaints are found by complaint id, but `CustomersMerged` names customers. The
`CustomerComplaints` list (aggregates.py; one per dealership and customer id, added to at
filing) answers "which complaints were filed under this customer", and `merge_customers`
hands a merged customer's complaints to the survivor: each complaint records the new owner
(so later decisions, by event or by deadline, are recorded under the survivor's id) and the
survivor's list takes them over (so a later merge of the survivor moves them again).
`split_customers` undoes one merge: the complaints that were the restored customer's (filed
under it or a customer merged into it, or filed by an event intake re-attributed to it) go
back to it.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from services.complaints.aggregates import Complaint, CustomerComplaints


def file_under(
    listing: CustomerComplaints | None, dealership_id: str, customer_id: str, complaint_id: str
) -> CustomerComplaints:
    """The customer's list with `complaint_id` on it (created on the first complaint)."""
    if listing is None:
        listing = CustomerComplaints(dealership_id=dealership_id, customer_id=customer_id)
    if complaint_id not in listing.complaint_ids:
        listing.add(complaint_ids=[complaint_id])
    return listing


def merge_customers(
    survivor: CustomerComplaints,
    merged: list[CustomerComplaints],
    complaints: list[Complaint],
) -> list[Aggregate]:
    """Move the `merged` customers' complaints to `survivor`; returns what changed.

    `complaints` are the complaints on the merged lists, as loaded. A list merged before (a
    replayed merge) and complaints already under the survivor are left alone.
    """
    changed: list[Aggregate] = []
    moving: list[str] = []
    for listing in merged:
        if listing.merged_into is not None or listing.customer_id == survivor.customer_id:
            continue
        moving += listing.complaint_ids
        listing.merge_into(survivor_id=survivor.customer_id)
        changed.append(listing)
    for complaint in complaints:
        if complaint.complaint_id in moving and complaint.customer_id != survivor.customer_id:
            complaint.follow_merge(survivor_id=survivor.customer_id)
            changed.append(complaint)
    new = [c for c in dict.fromkeys(moving) if c not in survivor.complaint_ids]
    if new:
        survivor.add(complaint_ids=new)
        changed.append(survivor)
    return changed


def split_customers(
    survivor: CustomerComplaints,
    restored: CustomerComplaints,
    complaints: list[Complaint],
    reattributed: set[str],
) -> list[Aggregate]:
    """Move the restored customer's complaints from `survivor`'s list back to `restored`'s
    (`complaints`: those on the survivor's list, as loaded); returns what changed."""
    restored_id = restored.customer_id
    back = [
        c
        for c in complaints
        if restored_id in c.merged_from or str(c.filed_event_id) in reattributed
    ]
    for complaint in back:
        complaint.follow_split(restored_id=restored_id)
    ids = [c.complaint_id for c in back]
    changed: list[Aggregate] = [*back, restored]
    if restored.merged_into is not None:
        restored.unmerge()
    if ids:
        survivor.remove(complaint_ids=ids)
        restored.add(complaint_ids=ids)
        changed.append(survivor)
    return changed
