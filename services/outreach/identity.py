"""Outreach following intake's identity records (docs/identity.md): a merge folds the
merged plans into the survivor's, a split gives the restored customer's plan back (with
the cars, follow-ups and complaints its re-attributed events brought while merged), a car
sold on leaves its previous owner's plan (its reminders are the new owner's; those of it
still open there end)."""

from __future__ import annotations

from typing import Any

from events import CustomersMerged, CustomersUnmerged, VehicleOwnershipChanged, survey_id
from laoke.merges import follows_restored, survivor
from laoke.work import UnitOfWork
from services.outreach.aggregates import (
    ContactPlan,
    FollowUp,
    Survey,
    plan_id,
    survey_aggregate_id,
)
from services.outreach.recording import SERVICE, skip_open


def exported(plan: ContactPlan) -> dict[str, Any]:
    """What a survivor needs of a merged plan (and a split gives back), as plain JSON-able
    values: the argument of `ContactPlan.absorb` and `ContactPlan.split_off`."""
    return {
        "customer_id": plan.customer_id,
        "merged_ids": sorted(plan.merged_ids),
        "registered": plan.registered,
        "marketing_consent": plan.marketing_consent,
        "channels": plan.channels,
        "blocked": plan.blocked,
        "outbound_calls": [at.isoformat() for at in plan.outbound_calls],
        "phones": plan.phones,
        "flagged_phones": sorted(plan.flagged_phones),
        "people": [[p.relation, p.name, p.birthday.isoformat()] for p in plan.people],
        "vehicles": [v.to_dict() for v in plan.vehicles.values()],
        "last_touchpoint": plan.last_touchpoint.isoformat() if plan.last_touchpoint else None,
        "open_complaints": sorted(plan.open_complaints),
        "follow_ups": [f.to_dict() for f in plan.follow_ups.values()],
        "last_nps_at": plan.last_nps_at.isoformat() if plan.last_nps_at else None,
    }


def plan_now(work: UnitOfWork, dealership_id: str, customer_id: str) -> ContactPlan | None:
    """The plan holding `customer_id`'s contacts now: its survivor's after a merge. Other
    services record at their own pace: one may name a customer intake has merged since."""

    def merged_into(candidate: str) -> str | None:
        found = work.get(plan_id(dealership_id, candidate), ContactPlan)
        return found.merged_into if found is not None else None

    return work.get(plan_id(dealership_id, survivor(customer_id, merged_into)), ContactPlan)


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
    changes intake re-attributed to it; `state` (the survivor's) gives its part back, as it
    last recorded it, with what the re-attributed events brought (`part_of`). None when
    there is no such plan or it was split before (a replay)."""
    restored = work.get(plan_id(event.dealership_id, event.restored_id), ContactPlan)
    if restored is None or restored.merged_into is None:
        return None
    reattributed = {str(e) for e in event.reattributed_event_ids}
    for event_id, opt_out, channels, purposes in state.preference_log:
        if event_id in reattributed:
            restored.change_preference(opt_out, channels, purposes, event_id)
    own = exported(restored)
    part = part_of(state, own, reattributed)
    given = {k: [*own[k], *part[k]] for k in ("vehicles", "follow_ups", "open_complaints")}
    state.split_off(own | given, sorted(reattributed))
    restored.take_back(part)
    restored.unmerge()
    for follow_up in part["follow_ups"]:  # sent under the survivor: theirs to answer
        for kind in ("CSI", "SSI", "NPS"):
            found = survey_aggregate_id(
                event.dealership_id, survey_id(follow_up["follow_up_id"], kind)
            )
            survey = work.get(found, Survey)
            if survey is not None and survey.customer_id == state.customer_id:
                survey.reassign(restored.customer_id)
    return restored


def part_of(
    state: ContactPlan, own: dict[str, Any], reattributed: set[str]
) -> dict[str, list[Any]]:
    """What of the survivor's plan goes back with a restored customer (`own`: its plan as
    `exported` at the merge), as the survivor's plan last recorded it (pure): its cars and
    those the re-attributed events brought; its follow-ups and those those events planned,
    or planned from the calendar for its cars (laoke/merges.py), with their retries; its
    complaints and those the events filed, while still open; when its cars' reminders
    last fired (so none fires twice)."""
    brought = {key for key, event_id in state.brought.items() if event_id in reattributed}
    cars = {v["vin"] for v in own["vehicles"]} | {k[4:] for k in brought if k[:4] == "vin:"}
    ids = {f["follow_up_id"] for f in own["follow_ups"]} | {
        f.follow_up_id
        for f in state.follow_ups.values()
        if follows_restored(f.origin, f.reason, f.vin, reattributed, cars)
    }
    ids |= {f.follow_up_id for f in state.follow_ups.values() if f.root_id in ids}
    complaints = set(own["open_complaints"]) | {k[10:] for k in brought if k[:10] == "complaint:"}
    return {
        "vehicles": [state.vehicles[v].to_dict() for v in sorted(cars) if v in state.vehicles],
        "follow_ups": [state.follow_ups[i].to_dict() for i in sorted(ids) if i in state.follow_ups],
        "open_complaints": sorted(complaints & state.open_complaints),
        "fired": [
            [slot, at.isoformat()]
            for slot, at in sorted(state.fired.items())
            if slot.partition(":")[2] in cars
        ],
    }


# What the car's service life plans for its owner; its purchase calls and surveys ask about
# the seller's own purchase or visit, and requested contacts (a complaint's call-back) are
# about the person: those stay.
CAR_LIFE = frozenset({"service_reminder", "inspection_reminder", "insurance_reminder"})
SOLD_WHY = "the vehicle was sold on: its reminders are the new owner's"


def car_reminders(state: ContactPlan, vin: str) -> list[FollowUp]:
    """The plan's open reminders of the car (service, inspection, insurance: those the
    calendar planned for it), with the open retries of one."""

    def first(follow_up: FollowUp) -> FollowUp:
        return state.follow_ups.get(follow_up.root_id) or follow_up

    return [
        f
        for f in state.follow_ups.values()
        if f.status == "due"
        and f.source == SERVICE
        and f.request_id is None
        and first(f).reason in CAR_LIFE
        and first(f).vin == vin
    ]


def sold(event: VehicleOwnershipChanged, work: UnitOfWork) -> ContactPlan | None:
    """The previous owner's plan without the car (None: it did not have it): its reminders
    of the car still open end (`FollowUpSkipped` `vehicle_sold`, dated at the change)."""
    previous = work.get(plan_id(event.dealership_id, event.previous_owner_id), ContactPlan)
    if previous is None or event.vin not in previous.vehicles:
        return None
    for follow_up in car_reminders(previous, event.vin):
        name = f"sold:{follow_up.follow_up_id}"
        detail = {"vin": event.vin}
        skip_open(previous, follow_up, event, "vehicle_sold", SOLD_WHY, name, work, detail)
    previous.vehicle_sold(event.vin)
    return previous
