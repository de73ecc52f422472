"""Chapters of the showroom and the DMS: arriving, buying, referrals, accessories, leaving."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from events import (
    CustomerRegistered,
    CustomerVisited,
    ReferralCallbackAnswered,
    ReferralClaimed,
    SmallPurchaseMade,
    VehicleDelivered,
    VehiclePurchased,
)
from laoke.sim import texts
from laoke.sim.dealership import Dealership
from laoke.sim.model import DAY, HOUR, MINUTE, Car, Invitation, Person, Story, between, office
from laoke.sim.people import phone_variant, plate_of


def arrival(d: Dealership, s: Story, p: Person) -> None:
    """Owners come registered by the DMS; prospects first come in by their source, are
    registered, and those who will not buy come once more. The first contact's
    `visit_kind` is all the contract shows of a source besides a referral claim: an
    owners' club event (`event`), a call from someone a non-business contact sent
    (`phone_in`), the call centre calling back a lead left on an online ad (`phone_out`),
    or a walk-in (`showroom`: cold visits, and friends, whose claim names them)."""
    rng = d.rng
    if p.owner:
        register(d, s, p, p.arrival)
        return
    kind = {"events": "event", "non_business": "phone_in", "other": "phone_out"}
    s.add(
        p.arrival,
        CustomerVisited,
        "showroom",
        d.hints(p, "showroom", merged=False),
        visit_kind=kind.get(p.source or "", "showroom"),
        advisor_id=p.advisor,
        note=texts.SOURCE_NOTES.get(p.source or "other"),
    )
    register(d, s, p, p.arrival + rng.randint(10, 60) * MINUTE)
    if not p.cars:  # a second visit that does not end in a purchase
        visit(d, s, p, p.arrival + rng.randint(3, 20) * DAY, "showroom")


def purchases(d: Dealership, s: Story, p: Person) -> None:
    for car in list(p.cars):
        purchase(d, s, p, car)


def repurchase(d: Dealership, s: Story, p: Person) -> None:
    """A repurchaser buys again at least 14 days after the trouble was resolved."""
    rng = d.rng
    if p.repurchase and s.resolved is not None:
        lo = s.resolved + 14 * DAY
        bought = office(rng, between(rng, lo, d.end - 25 * DAY))
        car = d.new_car(bought)
        car.test_drive_at = bought - rng.randint(1, 5) * DAY
        p.cars.append(car)
        purchase(d, s, p, car)


def churn_call(d: Dealership, s: Story, p: Person) -> None:
    """A churned customer's last call, noting why (the neglected are never called)."""
    if p.churn is not None and p.churn != "neglected" and p.horizon is not None:
        visit(d, s, p, p.horizon - HOUR, "phone_out", texts.CHURN_NOTES[p.churn])


def register(d: Dealership, s: Story, p: Person, at: datetime) -> None:
    ident, rng = p.ident, d.rng
    s.add(
        at,
        CustomerRegistered,
        "dms",
        d.hints(p, "dms"),
        name=ident.name,
        phones=[ident.phone],
        birthday=ident.birthday,
        family=[
            {"relation": r.relation, "name": r.name, "birthday": r.birthday} for r in ident.family
        ],
        advisor_id=p.advisor,
        consent={
            "marketing": rng.random() < 0.8,
            "channels": rng.choice((["phone"], ["phone", "wechat"], ["phone", "sms", "wechat"])),
        },
    )


def visit(
    d: Dealership, s: Story, p: Person, at: datetime, kind: str, note: str | None = None
) -> None:
    system = "call-center" if kind.startswith("phone") else "showroom"
    s.add(
        at,
        CustomerVisited,
        system,
        d.hints(p, system),
        visit_kind=kind,
        advisor_id=p.advisor,
        note=note,
    )


def purchase(d: Dealership, s: Story, p: Person, car: Car) -> None:
    if car.test_drive_at is not None:
        visit(d, s, p, car.test_drive_at, "test_drive")
    s.add(
        car.purchased_at,
        VehiclePurchased,
        "dms",
        d.hints(p, "dms"),
        vin=car.vin,
        model=car.model,
        colour=car.colour,
        price_cny=Decimal(car.price),
        advisor_id=p.advisor,
        plate=plate_of(car.vin),
    )
    delivered = s.add(
        car.delivered_at,
        VehicleDelivered,
        "dms",
        d.hints(p, "dms"),
        vin=car.vin,
        delivered_at=car.delivered_at,
    )
    if delivered is not None:  # outreach sends an SSI survey (history deliveries too)
        s.invitations.append(Invitation(delivered, car.delivered_at, "SSI", car.vin))


def referral(d: Dealership, s: Story, p: Person) -> None:
    """A referred buyer's claim and, for real ones and failed callbacks, the callback."""
    if p.referral is None:
        return
    rng, car, referrer = d.rng, p.cars[0], p.referrer
    assert referrer is not None
    own = referrer.cars[0]
    colour, model = own.colour, own.model
    if p.referral == "vehicle_mismatch":
        colour = rng.choice([c for c in texts.COLOURS if c != own.colour])
    referral_id = f"RF-{p.index:06d}"
    claimed = p.arrival + rng.randint(60, 180) * MINUTE
    if p.referral == "registered_after_delivery":
        claimed = car.delivered_at + rng.randint(60, 72 * 60) * MINUTE
    referrer_phone = phone_variant(referrer.ident.phone, rng)
    s.add(
        claimed,
        ReferralClaimed,
        "showroom",
        d.hints(p, "showroom"),
        referral_id=referral_id,
        vin=car.vin,
        referrer={
            "name": referrer.ident.name,
            "phone": referrer_phone,
            "vehicle_model": model,
            "vehicle_colour": colour,
        },
    )
    if p.referral in ("real", "callback_failed"):
        n = rng.choice((3, 4))
        wrong = rng.randint(2, n) if p.referral == "callback_failed" else int(rng.random() < 0.1)
        answers = [{"correct": i >= wrong} for i in range(n)]
        rng.shuffle(answers)
        s.add(
            car.delivered_at + rng.randint(2, 6) * DAY,
            ReferralCallbackAnswered,
            "call-center",
            d.hints(p, "call"),
            referral_id=referral_id,
            questions=answers,
        )


def small_purchases(d: Dealership, s: Story, p: Person) -> None:
    """Accessories for a car bought here, after it was bought (a prospect who never bought
    has no car to fit them to, and no purchase that would make them a customer lost)."""
    if not p.cars:
        return
    rng = d.rng
    month = d.start
    n = 0
    first = p.cars[0].purchased_at
    while month < d.end:
        at = office(rng, month + rng.randint(0, 27) * DAY)
        bought = rng.random() < d.rates.small_purchase_per_month
        if bought and at > first + DAY and s.buys(at):
            n += 1
            items = rng.sample(texts.SMALL_ITEMS, rng.randint(1, 2))
            s.add(
                at,
                SmallPurchaseMade,
                "dms",
                d.hints(p, "dms"),
                order_id=f"PO-{p.index:06d}-{n}",
                items=items,
                amount_cny=Decimal(rng.randrange(99, 3000, 1)),
            )
        month += 30 * DAY
