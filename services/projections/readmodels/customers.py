"""The customer read model: profile, timeline, touchpoints, vehicles and purchases,
contact preferences, flagged phones (merges are in `merges`)."""

from __future__ import annotations

from typing import Any

from events import (
    ContactPreferenceChanged,
    CustomerRegistered,
    CustomerVisited,
    Event,
    PhoneFlagged,
    ServiceCompleted,
    SmallPurchaseMade,
    VehicleDelivered,
    VehiclePurchased,
    is_touchpoint,
)
from events.preferences import opt_outs_after
from services.projections.readmodels import consents, tallies, vehicles
from services.projections.readmodels.context import Context, add_once, as_phone, money
from services.projections.readmodels.summary import summary_of
from services.projections.tables import Row, ts


def kind_of(event: Event) -> str | None:
    """The timeline's `kind`: a visit's `visit_kind` (a walk-in, a call in or out, an event),
    which the retention figures read (services/projections/retention.py); None otherwise.
    Not personal data: an erasure keeps it."""
    return event.visit_kind if isinstance(event, CustomerVisited) else None


def record(ctx: Context, event: Event, customer: Row) -> None:
    """The timeline row of every event; a touchpoint also moves the last touchpoint, and an
    event older than any before (history imported late) moves first seen back to it."""
    touch = is_touchpoint(event)  # a contact that happened (events/timing.py)
    at = ts(event.occurred_at)
    if at < customer["doc"]["first_seen_at"]:
        customer["doc"]["first_seen_at"] = at
    ctx.tx.defer(
        "INSERT INTO timeline (seq, customer_id, original_customer_id, dealership_id, event_id,"
        " event_type, occurred_at, source, touchpoint, summary, kind) VALUES (?, ?, ?, ?, ?, ?,"
        " ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING",
        (
            ctx.seq,
            customer["customer_id"],
            event.customer_id,
            event.dealership_id,
            ctx.event_id,
            event.event_type,
            at,
            event.source,
            1 if touch else 0,
            summary_of(event),
            kind_of(event),
        ),
    )
    if touch:
        tallies.touch(customer, ctx.event_id, event.event_type, at, event.source)


def record_hints(ctx: Context, event: Event, customer: Row) -> None:
    """What an event tells about its customer: phones, VIN, external id, name."""
    hints = event.customer
    if hints is None:
        return
    doc = customer["doc"]
    d, c, e = event.dealership_id, customer["customer_id"], ctx.event_id
    if hints.phone and (phone := as_phone(hints.phone)):
        add_once(doc["phones"], phone)
        ctx.identity(d, "phone", phone, c, e)
    if hints.vin:
        vehicles.seen_with(ctx, event, hints.vin, c)
    if hints.external_id:
        add_once(doc["external_ids"], hints.external_id)
        ctx.identity(d, "external_id", hints.external_id, c, e)
    if hints.name and not doc["name"]:
        doc["name"] = hints.name


def on_registered(ctx: Context, event: CustomerRegistered, customer: Row) -> None:
    doc = customer["doc"]
    doc["name"] = event.name
    for raw in event.phones:
        if phone := as_phone(raw):
            add_once(doc["phones"], phone)
            ctx.identity(event.dealership_id, "phone", phone, customer["customer_id"], ctx.event_id)
    if event.plate:  # with the person, no VIN; `plates` is absent until one comes
        add_once(doc.setdefault("plates", []), event.plate)
    if event.birthday is not None:
        doc["birthday"] = event.birthday.isoformat()
    if event.family:
        doc["family"] = [m.model_dump(mode="json") for m in event.family]
    if event.advisor_id:
        customer["advisor_id"] = event.advisor_id
    doc["consent"].update(marketing=event.consent.marketing, channels=list(event.consent.channels))
    consents.record_registration(ctx, event, customer)


def on_timeline_only(ctx: Context, event: Event, customer: Row) -> None:
    """An event the read models show on the timeline only (`record` wrote it)."""


def on_visited(ctx: Context, event: CustomerVisited, customer: Row) -> None:
    customer["doc"]["stats"]["visits"] += 1
    if event.advisor_id and not customer["advisor_id"]:
        customer["advisor_id"] = event.advisor_id


def vehicle_of(customer: Row, vin: str) -> dict[str, Any]:
    vehicles: dict[str, dict[str, Any]] = customer["doc"]["vehicles"]
    return vehicles.setdefault(vin, {"vin": vin})


def _purchase(
    ctx: Context,
    event: VehiclePurchased | ServiceCompleted | SmallPurchaseMade,
    customer: Row,
    kind: str,
    amount: float,
    ref: str | None = None,
) -> None:
    """The purchase's row and what it adds to the customer's counters (tallies.py)."""
    at = ts(event.occurred_at)
    big = float(ctx.settings.classes.big_purchase_cny)
    tallies.count_purchase(customer["doc"]["stats"], kind, amount, at, big)
    ctx.tx.defer(
        "INSERT INTO purchases (event_id, dealership_id, customer_id, kind, at, amount_cny, ref)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
        (
            ctx.event_id,
            event.dealership_id,
            customer["customer_id"],
            kind,
            at,
            amount,
            ref,
        ),
    )


def on_purchased(ctx: Context, event: VehiclePurchased, customer: Row) -> None:
    price = money(event.price_cny)
    vehicle = vehicle_of(customer, event.vin)
    vehicle.update(
        model=event.model, colour=event.colour, price_cny=price, purchased_at=ts(event.occurred_at)
    )
    if event.plate:
        vehicle["plate"] = event.plate
    _purchase(ctx, event, customer, "vehicle", price)
    vehicles.seen_with(ctx, event, event.vin, customer["customer_id"])
    ctx.set_ref(event.dealership_id, event.vin, event.advisor_id, "sales")
    if not customer["advisor_id"]:
        customer["advisor_id"] = event.advisor_id


def on_delivered(ctx: Context, event: VehicleDelivered, customer: Row) -> None:
    vehicle_of(customer, event.vin)["delivered_at"] = ts(event.delivered_at)
    vehicles.seen_with(ctx, event, event.vin, customer["customer_id"])


def on_service(ctx: Context, event: ServiceCompleted, customer: Row) -> None:
    vehicle = vehicle_of(customer, event.vin)
    vehicle.update(mileage_km=event.mileage_km, last_service_at=ts(event.occurred_at))
    kind = "rework" if event.service_kind == "rework" else "service"
    _purchase(ctx, event, customer, kind, money(event.amount_cny), event.repair_order_id)
    vehicles.seen_with(ctx, event, event.vin, customer["customer_id"])
    vehicles.on_service(ctx, event, customer)
    ctx.set_ref(event.dealership_id, event.repair_order_id, event.advisor_id, "service")


def on_small_purchase(ctx: Context, event: SmallPurchaseMade, customer: Row) -> None:
    _purchase(ctx, event, customer, "small", money(event.amount_cny), event.order_id)


def on_preference(ctx: Context, event: ContactPreferenceChanged, customer: Row) -> None:
    consents.record_change(ctx, event, customer)
    consent = customer["doc"]["consent"]
    consent["opted_out_by_purpose"] = opt_outs_after(
        consent.get("opted_out_by_purpose", {}), event.opt_out, event.channels, event.purposes
    )
    if event.purposes:
        return  # the channel fields below are the changes for every purpose (no `purposes`)
    if not event.channels:
        consent["opted_out_all"] = event.opt_out
        if not event.opt_out:
            consent["opted_out"] = []
        return
    for channel in event.channels:
        if event.opt_out:
            add_once(consent["opted_out"], channel)
        elif channel in consent["opted_out"]:
            consent["opted_out"].remove(channel)
    consent["opted_out"].sort()


def on_phone_flagged(ctx: Context, event: PhoneFlagged, customer: Row) -> None:
    add_once(customer["doc"]["flagged_phones"], as_phone(event.phone) or event.phone)
