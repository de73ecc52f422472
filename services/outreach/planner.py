"""The pure planner: which contacts an event or a deadline calls for, and when.

`plan(state, event, policy)` answers for an event, `plan_slot(state, slot, due_at, policy)`
for a deadline that came due, `schedule(state, now, policy)` names the deadlines a plan
should have pending. No I/O, no clock: `now` is an argument.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from events import (
    ContactRequested,
    Event,
    FollowUpCompleted,
    ServiceCompleted,
    SmallPurchaseMade,
    VehicleDelivered,
    VehiclePurchased,
)
from services.outreach.aggregates import ContactPlan, FollowUp, Vehicle
from services.outreach.calendar import (
    add_months,
    add_months_at,
    at_local,
    local,
    next_anniversary_at,
    next_holiday_at,
)
from services.outreach.settings import Policy

EXPIRE = "expire"  # the slot `expire:<follow_up_id>` ends an open contact at its expiry
CALL = ("phone", "wechat")
MESSAGE = ("wechat", "sms", "phone", "email")
GREETING = ("wechat", "sms", "phone", "letter", "email")

PRIORITY: dict[str, int] = {
    "complaint_callback": 100,
    "scope_change_contact": 90,
    "referral_callback": 80,
    "retry": 75,
    "purchase_call_7d": 70,
    "purchase_call_3m": 60,
    "survey_ssi": 55,
    "survey_csi": 55,
    "survey_nps": 50,
    "small_purchase_call": 50,
    "service_reminder": 40,
    "insurance_reminder": 40,
    "inspection_reminder": 35,
    "reengagement": 20,
    "birthday_greeting": 10,
    "holiday_greeting": 10,
}


@dataclass(frozen=True)
class PlannedContact:
    """A candidate contact, before the contact rules. `name` makes its ids unique per cause;
    `expires_at` is its useful life's end (expiry.py fills it in; a retry keeps its first
    try's)."""

    name: str
    reason: str
    due_at: datetime
    channels: tuple[str, ...]
    detail: dict[str, str] = field(default_factory=dict)
    survey_kind: str | None = None
    attempt: int = 1
    root_id: str | None = None
    expires_at: datetime | None = None
    request: ContactRequested | None = None  # asked for by another service
    vin: str | None = None  # the car it is about (purchase calls, reminders)

    @property
    def priority(self) -> int:
        return PRIORITY.get(self.reason, 0)


def revised(contact: PlannedContact, **changes: Any) -> PlannedContact:
    """`dataclasses.replace(contact, **changes)` at half its cost (asked for each candidate):
    a contact's attributes are its fields, all set by `__init__`."""
    return PlannedContact(**(vars(contact) | changes))


def requested(event: ContactRequested) -> PlannedContact:
    """Another service's contact, as a candidate for the same rules as outreach's own."""
    return PlannedContact(
        event.follow_up_id,
        event.reason,
        event.not_before,
        tuple(event.channels),
        dict(event.detail),
        request=event,
    )


def sampled(seed: str, event_id: str, rate: float) -> bool:
    """A reproducible draw: the same (seed, event) is always in or always out."""
    digest = hashlib.sha256(f"{seed}:{event_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def plan(state: ContactPlan, event: Event, policy: Policy) -> list[PlannedContact]:
    """The contacts `event` calls for (the contact rules are applied afterwards)."""
    at = event.occurred_at
    if isinstance(event, ContactRequested):
        return [requested(event)]
    if isinstance(event, VehiclePurchased):
        delivered = state.vehicle(event.vin).delivered_at if event.vin in state.vehicles else None
        detail = {"vin": event.vin, "model": event.model}
        if delivered is not None:
            detail["counted_from"] = "delivery"
        return purchase_calls("", delivered or at, detail, event.vin, policy)
    if isinstance(event, SmallPurchaseMade):
        rate = policy.small_purchase_sample_rate
        if not sampled(policy.sample_seed, str(event.event_id), rate):
            return []
        due = at + timedelta(days=policy.small_purchase_call_days)
        detail = {"order_id": event.order_id, "sample_rate": str(rate)}
        return [PlannedContact("small_purchase_call", "small_purchase_call", due, CALL, detail)]
    if isinstance(event, ServiceCompleted):
        due = at + timedelta(days=policy.survey_delay_days)
        detail = {"repair_order_id": event.repair_order_id, "vin": event.vin}
        return [PlannedContact("survey_csi", "survey_csi", due, MESSAGE, detail, "CSI")]
    if isinstance(event, VehicleDelivered):
        due = event.delivered_at + timedelta(days=policy.survey_delay_days)
        return [PlannedContact("survey_ssi", "survey_ssi", due, MESSAGE, {"vin": event.vin}, "SSI")]
    if isinstance(event, FollowUpCompleted) and event.outcome == "no_answer":
        return _retry(state, event, policy)
    return []


def purchase_calls(
    prefix: str, basis: datetime, detail: dict[str, str], vin: str, policy: Policy
) -> list[PlannedContact]:
    """The calls one week and three months after a car purchase, from `basis`."""
    when = {
        "purchase_call_7d": basis + timedelta(days=policy.purchase_call_days),
        "purchase_call_3m": add_months_at(basis, policy.purchase_call_months, policy.timezone),
    }
    return [
        PlannedContact(f"{prefix}{reason}", reason, due, CALL, detail, vin=vin)
        for reason, due in when.items()
    ]


def moved_to_delivery(
    state: ContactPlan, event: VehicleDelivered, policy: Policy
) -> list[PlannedContact]:
    """Purchase calls are counted from the delivery once it is known. At a car's first
    delivery, each call that, counted from the order, is not yet due when the delivery is
    reported is planned again from the delivery (`detail.replaces` names the one planned from
    the order while it is pending: the application skips it, `superseded`). Decided by the
    events' times alone, not by what the rules made of the first call, so the same input
    always plans the same calls."""
    vehicle = state.vehicles.get(event.vin)
    if vehicle is None or vehicle.purchased_at is None:
        return []  # delivered before the purchase was reported: the calls will count from it
    ordered = {
        c.reason: c.due_at for c in purchase_calls("", vehicle.purchased_at, {}, event.vin, policy)
    }
    pending = {f.reason: f for f in pending_purchase_calls(state, event.vin)}
    detail = {"vin": event.vin, "counted_from": "delivery"}
    moved = []
    for call in purchase_calls("delivery:", event.delivered_at, detail, event.vin, policy):
        if ordered[call.reason] <= event.occurred_at or ordered[call.reason] == call.due_at:
            continue  # already due (on the work list), or the same time anyway
        old = pending.get(call.reason)
        replaces = {"replaces": old.follow_up_id} if old is not None else {}
        moved.append(revised(call, detail=call.detail | replaces))
    return moved


def pending_purchase_calls(state: ContactPlan, vin: str) -> list[FollowUp]:
    """Outreach's purchase calls of the car still to be made."""
    return [
        f
        for f in state.follow_ups.values()
        if f.source == "outreach"
        and f.status == "due"
        and f.vin == vin
        and f.reason in ("purchase_call_7d", "purchase_call_3m")
    ]


def _retry(state: ContactPlan, event: FollowUpCompleted, policy: Policy) -> list[PlannedContact]:
    """No answer: try again `retry_after_days` later at the same local time of day."""
    tried = state.follow_ups.get(event.follow_up_id)
    if tried is None or tried.source != "outreach" or tried.status != "due":
        return []  # not ours (e.g. a complaint call-back), or already closed
    tz = policy.timezone
    day = local(event.occurred_at, tz).date() + timedelta(days=policy.retry_after_days)
    due = at_local(day, local(tried.due_at, tz).time().replace(tzinfo=None), tz)
    root = tried.root_id or tried.follow_up_id
    detail = {"retry_of": root, "attempt": str(tried.attempt + 1), "first_reason": tried.reason}
    return [
        PlannedContact(
            "retry",
            "retry",
            due,
            (tried.channel,),
            detail,
            attempt=tried.attempt + 1,
            root_id=root,
            expires_at=tried.expires_at,
        )
    ]


# -- deadlines ---------------------------------------------------------------------------------


def schedule(state: ContactPlan, now: datetime, policy: Policy) -> dict[str, datetime]:
    """The deadline each slot of the plan should have pending: slot -> due_at. Besides the
    contacts planned on the day (reminders, greetings, re-engagement), each open contact
    of ours with a useful life has its expiry (`expire:<follow_up_id>`)."""
    if state.merged_into is not None:
        return {}
    tz, when = policy.timezone, policy.contact_time
    slots: dict[str, datetime] = {}

    def after(slot: str) -> datetime:
        fired = state.fired.get(slot)
        return max(now, fired) if fired else now

    if state.last_touchpoint is not None:
        basis = state.last_touchpoint
        fired = state.fired.get("reengage")
        if fired is not None and fired > basis:
            basis = fired
        every = timedelta(days=policy.reengage_after_days)
        day = local(basis, tz).date() + every
        while at_local(day, when, tz) < now:
            # Neglected since before laoke knew (a history import): re-engaged at the next
            # 180-day mark, not at the marks that passed unseen (their calls would be stale,
            # and an import's neglected customers come due spread out, not all at once).
            day += every
        slots["reengage"] = at_local(day, when, tz)
    for person in state.people:
        slots[person.slot] = next_anniversary_at(person.birthday, after(person.slot), when, tz)
    for name in policy.holiday_greetings:
        slot = f"holiday:{name}"
        found = next_holiday_at(name, after(slot), when, tz)
        if found is not None:
            slots[slot] = found
    for vehicle in state.vehicles.values():
        service = service_due(vehicle, policy)
        slot = f"service:{vehicle.vin}"
        if service is not None and (slot not in state.fired or state.fired[slot] < service):
            slots[slot] = service
        start = vehicle.delivered_at or vehicle.purchased_at
        if start is None:
            continue
        for kind, months in (
            ("inspection", policy.inspection_interval_months),
            ("insurance", policy.insurance_interval_months),
        ):
            slot = f"{kind}:{vehicle.vin}"
            slots[slot] = _next_renewal(start, months, after(slot), policy)
    for follow_up in state.follow_ups.values():
        if follow_up.status == "due" and follow_up.expires_at is not None:
            slots[f"{EXPIRE}:{follow_up.follow_up_id}"] = follow_up.expires_at
    return slots


def _next_renewal(start: datetime, months: int, after: datetime, policy: Policy) -> datetime:
    """The next 'renew every `months` from `start`' reminder, `renewal_lead_days` early."""
    tz = policy.timezone
    first = local(start, tz).date()
    k = 1
    while True:
        day = add_months(first, k * months) - timedelta(days=policy.renewal_lead_days)
        due = at_local(day, policy.contact_time, tz)
        if due > after:
            return due
        k += 1


def mileage_rate_km_per_day(vehicle: Vehicle) -> float | None:
    """Average km a day over the vehicle's known history (delivery counts as 0 km)."""
    points = list(vehicle.mileage)
    if vehicle.delivered_at is not None:
        points.append((vehicle.delivered_at, 0))
    points.sort()
    if len(points) < 2:
        return None
    (t0, km0), (t1, km1) = points[0], points[-1]
    days = (t1 - t0).total_seconds() / 86400
    if days < 1 or km1 <= km0:
        return None
    return (km1 - km0) / days


def service_due(vehicle: Vehicle, policy: Policy) -> datetime | None:
    """Next maintenance: 6 months or 5,000 km after the last service (or delivery),
    whichever comes first, the km estimated from the mileage history."""
    basis = vehicle.mileage[-1][0] if vehicle.mileage else vehicle.delivered_at
    if basis is None:
        return None
    tz = policy.timezone
    by_time = add_months(local(basis, tz).date(), policy.service_interval_months)
    due_day = by_time
    rate = mileage_rate_km_per_day(vehicle)
    if rate is not None:
        by_km = local(basis, tz).date() + timedelta(days=int(policy.service_interval_km / rate))
        due_day = min(by_time, by_km)
    return at_local(due_day, policy.contact_time, tz)


def plan_slot(
    state: ContactPlan, slot: str, due_at: datetime, policy: Policy
) -> list[PlannedContact]:
    """The contact a deadline slot calls for when it comes due."""
    kind, _, rest = slot.partition(":")
    name = f"{slot}:{due_at.isoformat()}"
    if kind == "reengage":
        last_touch = state.last_touchpoint
        quiet_until = (
            local(last_touch, policy.timezone).date() + timedelta(days=policy.reengage_after_days)
            if last_touch is not None
            else None
        )
        if quiet_until is not None and quiet_until > local(due_at, policy.timezone).date():
            return []  # a touchpoint came in since: not neglected
        last = state.last_touchpoint.isoformat() if state.last_touchpoint else ""
        return [PlannedContact(name, "reengagement", due_at, CALL, {"last_touchpoint": last})]
    if kind == "birthday":
        relation, _, person = rest.partition(":")
        detail = {"relation": relation, "name": person}
        return [PlannedContact(name, "birthday_greeting", due_at, GREETING, detail)]
    if kind == "holiday":
        return [PlannedContact(name, "holiday_greeting", due_at, GREETING, {"holiday": rest})]
    reasons = {
        "service": "service_reminder",
        "inspection": "inspection_reminder",
        "insurance": "insurance_reminder",
    }
    if kind in reasons:
        return [PlannedContact(name, reasons[kind], due_at, MESSAGE, {"vin": rest}, vin=rest)]
    return []
