"""Chapters of the service department: a visit every 150-175 days, and the visit that went
badly for the dissatisfied but silent.

A regular customer is never more than 180 days (projections' `recency_days`) without a
touchpoint, so those who count as lost at the end are the ones the plan made leave: the
churners, and the complainers and silent dissatisfied who took their business elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from events import (
    RepairScopeChanged,
    ScopeChangeApproved,
    ScopeChangeDeclined,
    ServiceCheckedIn,
    ServiceCompleted,
)
from laoke.sim import texts
from laoke.sim.dealership import Dealership
from laoke.sim.model import DAY, HOUR, MINUTE, Car, Invitation, Person, Story, office, pick

SERVICE_EVERY = (150, 175)  # days between service visits
ARRIVAL_KINDS = {
    "appointment": 40,
    "walk_in": 20,
    "waiting": 15,
    "emergency": 10,
    "vip": 5,
    "rework": 5,
}


def servicing(d: Dealership, s: Story, p: Person) -> None:
    for car in p.cars:
        _services(d, s, p, car)


def _services(d: Dealership, s: Story, p: Person, car: Car) -> None:
    rng = d.rng
    at = car.delivered_at + rng.randint(*SERVICE_EVERY) * DAY
    visit = 0
    while at < s.horizon:
        if at >= d.start:
            visit += 1
            ro = f"RO-{p.index:06d}-{car.vin[-4:]}-{visit}"
            checked_in = office(rng, at)
            done = checked_in + rng.randint(120, 420) * MINUTE
            service_visit(d, s, p, car, checked_in, done, ro)
        at += rng.randint(*SERVICE_EVERY) * DAY


def service_visit(
    d: Dealership, s: Story, p: Person, car: Car, at: datetime, done: datetime, ro: str
) -> Invitation | None:
    """Check-in at `at`, maybe a scope change, completion at `done`: the CSI invitation
    its completion causes (None when the person no longer buys here, or past the horizon)."""
    rng, rates = d.rng, d.rates
    if not s.buys(done):
        return None
    hints = {"vin": car.vin} if rng.random() < rates.vin_only_service else d.hints(p, "call")
    arrival = pick(rng, ARRIVAL_KINDS)
    s.add(
        at,
        ServiceCheckedIn,
        "service",
        hints,
        repair_order_id=ro,
        vin=car.vin,
        arrival_kind=arrival,
        promised_at=done + HOUR,
        advisor_id=p.advisor,
    )
    if rng.random() < rates.scope_change:
        changed = at + rng.randint(30, 90) * MINUTE
        items = rng.sample(texts.SCOPE_ITEMS, rng.randint(1, 3))
        s.add(
            changed,
            RepairScopeChanged,
            "service",
            hints,
            repair_order_id=ro,
            added_items=items,
            extra_amount_cny=Decimal(rng.randrange(200, 3000, 10)),
        )
        answer = ScopeChangeDeclined if rng.random() < rates.scope_declined else ScopeChangeApproved
        s.add(changed + rng.randint(5, 25) * MINUTE, answer, "service", hints, repair_order_id=ro)
    kind = (
        "rework"
        if arrival == "rework"
        else pick(rng, {"maintenance": 70, "repair": 20, "inspection": 10})
    )
    completed = s.add(
        done,
        ServiceCompleted,
        "service",
        hints,
        repair_order_id=ro,
        vin=car.vin,
        mileage_km=car.mileage(done),
        amount_cny=Decimal(rng.randrange(400, 6000, 10)),
        service_kind=kind,
        advisor_id=p.advisor,
    )
    if completed is None:
        return None
    invitation = Invitation(completed, done, "CSI", ro)  # outreach sends a CSI survey
    s.invitations.append(invitation)
    return invitation


def low_score(d: Dealership, s: Story, p: Person) -> datetime:
    """Dissatisfied but silent: a service visit around the pivot that went badly, and
    the CSI answer with a score <= 6 (the pivot becomes the answer's time)."""
    assert p.pivot is not None
    rng, car = d.rng, p.cars[0]
    at = office(rng, p.pivot - 3 * DAY)
    done = at + rng.randint(60, 300) * MINUTE
    invitation = service_visit(d, s, p, car, at, done, f"RO-{p.index:06d}-LOW")
    assert invitation is not None  # silent customers do not churn: within the horizon
    invitation.answer_at = invitation.due_at + rng.randint(1, 36) * HOUR
    invitation.score = rng.randint(2, 6)
    p.pivot = invitation.answer_at
    return p.pivot
