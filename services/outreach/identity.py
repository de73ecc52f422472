"""Outreach following intake's identity records (docs/identity.md): a merge folds the
merged plans into the survivor's, a split gives the restored customer's plan back, a car
sold on leaves its previous owner's plan (its reminders are the new owner's)."""

from __future__ import annotations

from events import CustomersMerged, CustomersUnmerged, VehicleOwnershipChanged
from laoke.work import UnitOfWork
from services.outreach.aggregates import ContactPlan, plan_id


def merged_plans(state: ContactPlan, event: CustomersMerged, work: UnitOfWork) -> list[ContactPlan]:
    """The plans `event` merges into `state` (none merged before: a replay changes nothing)."""
    found = []
    for merged_id in event.merged_ids:
        if merged_id == state.customer_id:
            continue
        other = work.get(plan_id(event.dealership_id, merged_id), ContactPlan)
        if other is not None and other.merged_into is None:
            found.append(other)
    return found


def split(state: ContactPlan, event: CustomersUnmerged, work: UnitOfWork) -> ContactPlan | None:
    """The restored customer's plan, its own again: its preferences as they were, plus the
    changes intake re-attributed to it; `state` (the survivor's) gives its part back. None
    when there is no such plan or it was split before (a replay)."""
    restored = work.get(plan_id(event.dealership_id, event.restored_id), ContactPlan)
    if restored is None or restored.merged_into is None:
        return None
    reattributed = {str(e) for e in event.reattributed_event_ids}
    for event_id, opt_out, channels, purposes in state.preference_log:
        if event_id in reattributed:
            restored.change_preference(opt_out, channels, purposes, event_id)
    state.split_off(restored.export(), sorted(reattributed))
    restored.unmerge()
    return restored


def sold(event: VehicleOwnershipChanged, work: UnitOfWork) -> ContactPlan | None:
    """The previous owner's plan without the car (None: it did not have it)."""
    previous = work.get(plan_id(event.dealership_id, event.previous_owner_id), ContactPlan)
    if previous is None or event.vin not in previous.vehicles:
        return None
    previous.vehicle_sold(event.vin)
    return previous
