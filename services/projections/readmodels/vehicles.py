"""The vehicle read model: each VIN's owners over time and its services
(`GET /v1/vehicles/{vin}`). A VIN names a car, not a person (docs/identity.md): its first
owner is the customer it was first recorded under, later ones come by
`VehicleOwnershipChanged`; the customer lookup by VIN answers the current owner."""

from __future__ import annotations

from events import Event, ServiceCompleted, VehicleOwnershipChanged
from services.projections.readmodels.context import Context, money
from services.projections.tables import CUSTOMERS, VEHICLES, Row, ts


def vehicle(ctx: Context, dealership_id: str, vin: str) -> Row:
    row = ctx.tx.get(VEHICLES, dealership_id, vin)
    if row is None:
        row = {
            "dealership_id": dealership_id,
            "vin": vin,
            "owner_id": None,
            "doc": {"owners": [], "services": []},
        }
    ctx.tx.put(VEHICLES, row)  # (a loaded row is written back only when put)
    return row


def seen_with(ctx: Context, event: Event, vin: str, customer_id: str) -> None:
    """A VIN on a customer's event: its first owner when it has none yet. (Later owners come
    only by `VehicleOwnershipChanged`: an old owner's late event does not take it back.)"""
    row = vehicle(ctx, event.dealership_id, vin)
    if row["owner_id"] is None:
        row["owner_id"] = customer_id
        row["doc"]["owners"] = [{"customer_id": customer_id, "since": ts(event.occurred_at)}]
        ctx.identity(event.dealership_id, "vin", vin, customer_id, ctx.event_id)


def on_ownership_changed(ctx: Context, event: VehicleOwnershipChanged, customer: Row) -> None:
    row = vehicle(ctx, event.dealership_id, event.vin)
    owners = row["doc"]["owners"]
    since = ts(event.changed_at)
    if not owners:
        owners.append({"customer_id": event.previous_owner_id, "since": None})
    owners.append({"customer_id": event.owner_id, "since": since})
    owners.sort(key=lambda o: o["since"] or "")
    row["owner_id"] = owners[-1]["customer_id"]
    owner = ctx.canonical(row["owner_id"])
    brought_by = str(event.causation_id or event.event_id)  # the event naming the new owner
    ctx.identity(event.dealership_id, "vin", event.vin, owner, brought_by)
    previous = ctx.tx.get(CUSTOMERS, ctx.canonical(event.previous_owner_id))
    if previous is not None and event.vin in previous["doc"]["vehicles"]:
        previous["doc"]["vehicles"][event.vin]["owned_until"] = since
        ctx.tx.put(CUSTOMERS, previous)


def on_service(ctx: Context, event: ServiceCompleted, customer: Row) -> None:
    services = vehicle(ctx, event.dealership_id, event.vin)["doc"]["services"]
    if any(s["event_id"] == ctx.event_id for s in services):
        return
    services.append(
        {
            "event_id": ctx.event_id,
            "repair_order_id": event.repair_order_id,
            "at": ts(event.occurred_at),
            "service_kind": event.service_kind,
            "mileage_km": event.mileage_km,
            "amount_cny": money(event.amount_cny),
            "customer_id": event.customer_id,
        }
    )
    services.sort(key=lambda s: (s["at"], s["event_id"]))
