"""Chapters of identity (docs/identity.md): a car sold on, and a wrong merge undone.

- `resale`: an owner sells their car to someone new (the used-car desk sends the buyer's
  phone with the car's VIN), after the owner's last event; the buyer brings it in for a
  service the workshop sends by VIN only. Intake records `VehicleOwnershipChanged`, never a
  merge; the service is the buyer's.
- `wrong_merge`: the DMS sends an owner's visit under another owner's customer number (a
  typing slip): intake merges the two (`CustomersMerged`, evidence the phone and the DMS
  id); days later ops send `CustomerSplitRequested` naming that merge, whose id the sender
  computes as intake does (`events.decision_uuid` of the visit's id). One `CustomersUnmerged`.
"""

from __future__ import annotations

from decimal import Decimal

from events import CustomerSplitRequested, CustomerVisited, ServiceCompleted, VehiclePurchased
from laoke.sim.dealership import Dealership
from laoke.sim.model import DAY, HOUR, Person, Story, between, office
from laoke.sim.truth import USED_CARS


def resale(d: Dealership, s: Story, p: Person) -> None:
    rng = d.rng
    if not p.cars or rng.random() >= d.rates.used_car_sale:
        return
    car = p.cars[0]
    last = max([item[0] for item in s.items] + [d.start, car.delivered_at])
    if last + 40 * DAY >= s.horizon:
        return
    sold = office(rng, between(rng, last + DAY, s.horizon - 30 * DAY))
    buyer = d.people.identity()
    hints = {"phone": buyer.phone, "name": buyer.name}
    added = s.add(
        sold,
        VehiclePurchased,
        USED_CARS,
        hints,
        vin=car.vin,
        model=car.model,
        colour=car.colour,
        price_cny=Decimal(car.price * 6 // 1000 * 100),
        advisor_id=p.advisor,
    )
    if added is None:
        return
    d.truth_counts["used_car_sales"] += 1
    done = office(rng, sold + rng.randint(10, 25) * DAY)
    s.add(
        done,
        ServiceCompleted,
        "service",
        {"vin": car.vin},
        repair_order_id=f"RO-{p.index:06d}-{car.vin[-4:]}-U",
        vin=car.vin,
        mileage_km=car.mileage(done),
        amount_cny=Decimal(480),
        service_kind="maintenance",
        advisor_id=p.advisor,
    )


def wrong_merge(d: Dealership, s: Story, p: Person) -> None:
    rng = d.rng
    if not p.owner or p.index in d.wrongly_tied or rng.random() >= d.rates.wrong_merge:
        return
    others = [o for o in d.persons[: p.index] if o.owner and o.index not in d.wrongly_tied]
    if not others or d.start + 30 * DAY >= s.horizon:
        return
    other = rng.choice(others)
    tied = office(rng, between(rng, d.start + DAY, s.horizon - 20 * DAY))
    slip = {"phone": p.ident.phone, "external_id": other.dms_id, "name": p.ident.name}
    key = s.add(tied, CustomerVisited, "dms", slip, visit_kind="showroom", advisor_id=p.advisor)
    if key is None:
        return
    split_at = tied + rng.randint(2, 10) * DAY + HOUR  # before the horizon: tied is 20 days off
    s.add(
        split_at,
        CustomerSplitRequested,
        "crm-ops",
        {"phone": p.ident.phone},
        merge_of=key,
        requested_by="ops-01",
        reason=f"DMS number {other.dms_id} typed for the wrong customer",
    )
    d.wrongly_tied |= {p.index, other.index}
    d.truth_counts["wrong_merges"] += 1
