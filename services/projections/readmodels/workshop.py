"""Workshop visits: check-ins, repair scope changes, and risk flags on repair orders."""

from __future__ import annotations

from events import (
    ComplaintRiskFlagged,
    RepairScopeChanged,
    ScopeChangeApproved,
    ScopeChangeBreached,
    ScopeChangeDeclined,
    ServiceCheckedIn,
)
from services.projections.readmodels import vehicles
from services.projections.readmodels.context import Context
from services.projections.readmodels.customers import vehicle_of
from services.projections.tables import Row


def on_checked_in(ctx: Context, event: ServiceCheckedIn, customer: Row) -> None:
    vehicle_of(customer, event.vin)
    vehicles.seen_with(ctx, event, event.vin, customer["customer_id"])
    ctx.set_ref(event.dealership_id, event.repair_order_id, event.advisor_id, "service")


def on_scope_event(
    ctx: Context,
    event: RepairScopeChanged | ScopeChangeApproved | ScopeChangeDeclined,
    customer: Row,
) -> None:
    del ctx, event, customer  # timeline only


def on_scope_breached(ctx: Context, event: ScopeChangeBreached, customer: Row) -> None:
    customer["doc"]["stats"]["scope_breaches"] += 1
    ctx.signal(event, customer, "scope_breached", event.advisor_id, "service")


def on_risk_flagged(ctx: Context, event: ComplaintRiskFlagged, customer: Row) -> None:
    customer["doc"]["stats"]["risk_flags"] += 1
    advisor, department = ctx.ref(event.dealership_id, event.repair_order_id)
    ctx.signal(event, customer, "risk_flag", advisor, department or "service")
