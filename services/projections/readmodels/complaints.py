"""The complaints read model: one row per complaint, its steps, remedies and escalations."""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

from events import (
    ApologyIssued,
    ApologyOverdue,
    ComplaintClockSet,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintInvestigated,
    ComplaintReopened,
    ComplaintResolved,
    ComplaintStepRejected,
    Event,
    RemedyAccepted,
    RemedyProposed,
    RemedyRefused,
    RemedyRejected,
    backdated,
    counted_at,
)
from services.projections.readmodels.context import Context, money
from services.projections.tables import COMPLAINTS, CUSTOMERS, Row, parse_ts, ts

ComplaintStep: TypeAlias = (
    ApologyIssued
    | RemedyAccepted
    | ComplaintInvestigated
    | RemedyProposed
    | RemedyRefused
    | RemedyRejected
    | ComplaintResolved
    | ComplaintClosed
    | ComplaintEscalated
    | ApologyOverdue
    | ComplaintStepRejected
    | ComplaintClockSet
    | ComplaintReopened
)
"""The events about a complaint already filed."""


def _department_of(ctx: Context, event: ComplaintFiled) -> tuple[str | None, str]:
    for ref in (event.repair_order_id, event.vin):
        advisor, department = ctx.ref(event.dealership_id, ref)
        if department is not None:
            return advisor, department
    if event.repair_order_id:
        return None, "service"
    if event.category in ("misleading_advertising", "unsatisfying_goods"):
        return None, "sales"
    return None, "general"


def on_complaint_filed(ctx: Context, event: ComplaintFiled, customer: Row) -> None:
    if ctx.tx.get(COMPLAINTS, event.dealership_id, event.complaint_id) is not None:
        return  # the complaints service refuses a second filing (ComplaintStepRejected)
    advisor, department = _department_of(ctx, event)
    at = ts(event.occurred_at)
    watched = not backdated(event)
    row: Row = {
        "dealership_id": event.dealership_id,
        "complaint_id": event.complaint_id,
        "customer_id": customer["customer_id"],
        "category": event.category,
        "advisor_id": advisor or customer["advisor_id"],
        "department": department,
        "filed_at": at,
        "apologised_at": None,
        "resolved_at": None,
        "within_sla": None,
        "doc": {
            "origin_event_id": str(event.event_id),  # whose it is after a split (merges.py)
            "channel": event.channel,
            "severity": event.severity,
            "description": event.description,
            "vin": event.vin,
            "repair_order_id": event.repair_order_id,
            "step": 1,
            "steps": {"1": at},
            # step -> when laoke received it, for steps received late (events/timing.py)
            "backdated": {} if watched else {"1": ts(event.received_at)},
            "watched": watched,
            "apology_due_at": None,  # complaints records its clocks (ComplaintClockSet)
            "sla_due_at": None,
            "general_manager_due_at": None,
            "clock": None,
            "apology_within_hours": None,
            "sla_hours": None,
            "apology_overdue": False,
            "sla_breached": False,
            "answers": None,
            "remedies": [],
            "escalations": [],
            "rejections": [],
            "hours_to_apology": None,
            "hours_to_resolution": None,
            "business_hours_to_apology": None,  # opening hours, as complaints counted them
            "business_hours_to_resolution": None,
            "reopenings": [],
            "closed_at": None,
            "satisfaction": None,
        },
    }
    ctx.tx.put(COMPLAINTS, row)
    stats = customer["doc"]["stats"]
    stats["complaints"] += 1
    stats["open_complaints"] += 1


CLOCK_FIGURES = (
    "clock",
    "apology_within_hours",
    "sla_hours",
    "hours_to_apology",
    "business_hours_to_apology",
)


def on_clock_set(ctx: Context, event: ComplaintClockSet, customer: Row) -> None:
    """The due times complaints runs this complaint by, and the hours it counted: shown as
    recorded, never computed. A later record (the apology's) leaves out what it does not
    change."""
    row = _complaint(ctx, event)
    if row is None:
        return
    doc = row["doc"]
    doc["apology_due_at"] = ts(event.apology_due_at)
    doc["sla_due_at"] = ts(event.sla_due_at)
    if event.general_manager_due_at is not None:
        doc["general_manager_due_at"] = ts(event.general_manager_due_at)
    for name in CLOCK_FIGURES:
        if (value := getattr(event, name)) is not None:
            doc[name] = value


def _complaint(ctx: Context, event: ComplaintStep) -> Row | None:
    row = ctx.tx.get(COMPLAINTS, event.dealership_id, event.complaint_id)
    if row is not None:
        ctx.tx.put(COMPLAINTS, row)
    return row


def _open(row: Row | None) -> bool:
    return row is not None and row["resolved_at"] is None and row["doc"]["closed_at"] is None


def _reach(row: Row, step: int, at: datetime, event: Event | None = None) -> None:
    """The complaint reached `step` at `at`; `event` (the inbound step) marks it backdated."""
    row["doc"]["step"] = step
    row["doc"]["steps"][str(step)] = ts(at)
    if event is not None:
        _mark(row, step, event)


def _mark(row: Row, step: int, event: Event) -> None:
    marks = row["doc"].setdefault("backdated", {})
    if backdated(event):
        marks[str(step)] = ts(event.received_at)
    else:
        marks.pop(str(step), None)


def _hours(start: str, end: datetime) -> float:
    return round(max(0.0, (end - parse_ts(start)).total_seconds() / 3600), 4)


def on_apology(ctx: Context, event: ApologyIssued, customer: Row) -> None:
    row = _complaint(ctx, event)
    if not _open(row) or row is None or row["apologised_at"] is not None:
        return
    # the figure staff are paid by: a backdated apology counts at its receipt
    counted = counted_at(event, row["doc"].get("watched", True))
    row["apologised_at"] = ts(counted)
    hours = _hours(row["filed_at"], counted)
    row["doc"].update(apologised_by=event.issued_by, hours_to_apology=hours)
    _reach(row, 2, event.occurred_at, event)


def on_investigated(ctx: Context, event: ComplaintInvestigated, customer: Row) -> None:
    row = _complaint(ctx, event)
    if not _open(row) or row is None or row["apologised_at"] is None:
        return
    row["doc"]["answers"] = event.answers.model_dump(mode="json", exclude_none=True)
    if row["doc"]["step"] < 3:
        _reach(row, 3, event.occurred_at, event)


def on_remedy_proposed(ctx: Context, event: RemedyProposed, customer: Row) -> None:
    row = _complaint(ctx, event)
    if not _open(row) or row is None or row["doc"]["answers"] is None:
        return
    remedies = row["doc"]["remedies"]
    superseded = None
    for i, remedy in enumerate(remedies):
        if remedy["status"] == "proposed":
            remedy["status"] = "superseded"
            superseded = i
    remedies.append(
        {
            "event_id": str(event.event_id),
            "at": ts(event.occurred_at),
            "remedy": event.remedy,
            "amount_cny": money(event.amount_cny),
            "proposed_by": event.proposed_by,
            "role": event.role,
            "status": "proposed",
            "supersedes": superseded,
        }
    )
    _reach(row, 4, event.occurred_at, event)


def on_remedy_refused(ctx: Context, event: RemedyRefused, customer: Row) -> None:
    """Above the proposer's authority: the proposal never counted; an earlier one stands."""
    row = _complaint(ctx, event)
    if row is None:
        return
    for remedy in reversed(row["doc"]["remedies"]):
        if remedy["event_id"] == str(event.causation_id) or (
            remedy["status"] == "proposed" and remedy["amount_cny"] == money(event.amount_cny)
        ):
            remedy.update(status="refused", why=event.why, limit_cny=money(event.limit_cny))
            if remedy.get("supersedes") is not None:
                row["doc"]["remedies"][remedy["supersedes"]]["status"] = "proposed"
            break


def on_remedy_accepted(ctx: Context, event: RemedyAccepted, customer: Row) -> None:
    """The resolution is the complaints service's ComplaintResolved (step 5); this only
    marks step 5 when the acceptance was received late."""
    row = _complaint(ctx, event)
    if _open(row) and row is not None:
        _mark(row, 5, event)


def on_remedy_rejected(ctx: Context, event: RemedyRejected, customer: Row) -> None:
    row = _complaint(ctx, event)
    if not _open(row) or row is None:
        return
    for remedy in row["doc"]["remedies"]:
        if remedy["status"] == "proposed":
            remedy.update(status="rejected", rejected_at=ts(event.occurred_at), note=event.note)
            _reach(row, 4, event.occurred_at, event)


def on_resolved(ctx: Context, event: ComplaintResolved, customer: Row) -> None:
    row = _complaint(ctx, event)
    if row is None or row["resolved_at"] is not None:
        return
    row["resolved_at"] = ts(event.resolved_at)
    row["within_sla"] = 1 if event.within_sla else 0
    row["doc"]["hours_to_resolution"] = round(event.hours_to_resolution, 4)
    row["doc"]["business_hours_to_resolution"] = event.business_hours_to_resolution
    if not event.within_sla:
        row["doc"]["sla_breached"] = True
    paid = 0.0
    for remedy in row["doc"]["remedies"]:
        if remedy["status"] == "proposed":
            remedy["status"] = "accepted"
            paid = remedy["amount_cny"]
    # what this complaint's resolutions paid in all (a reopened one is resolved again):
    # its share of the owner's `remedies_paid_cny`, counted again at a split (tallies.py)
    row["doc"]["remedy_paid_cny"] = money(row["doc"].get("remedy_paid_cny", 0.0) + paid)
    _reach(row, 5, event.resolved_at)
    owner = ctx.tx.get(CUSTOMERS, ctx.canonical(row["customer_id"])) or customer
    stats = owner["doc"]["stats"]
    stats["remedies_paid_cny"] = money(stats["remedies_paid_cny"] + paid)
    stats["open_complaints"] = max(0, stats["open_complaints"] - 1)
    ctx.tx.put(CUSTOMERS, owner)


def on_closed(ctx: Context, event: ComplaintClosed, customer: Row) -> None:
    row = _complaint(ctx, event)
    if row is None or row["doc"]["closed_at"] is not None:
        return
    row["doc"].update(
        closed_at=ts(event.occurred_at),
        satisfaction=event.satisfaction,
        callback_outcome=event.outcome,
    )
    _reach(row, 6, event.occurred_at)


def on_reopened(ctx: Context, event: ComplaintReopened, customer: Row) -> None:
    """The call-back found the customer dissatisfied: open again, at step 4, unresolved."""
    row = _complaint(ctx, event)
    if row is None or row["resolved_at"] is None or row["doc"]["closed_at"] is not None:
        return
    doc = row["doc"]
    row["resolved_at"] = None
    row["within_sla"] = None
    doc.update(hours_to_resolution=None, business_hours_to_resolution=None)
    for remedy in doc["remedies"]:
        if remedy["status"] == "accepted":
            remedy["status"] = "reopened"
    doc.setdefault("reopenings", []).append(
        {
            "at": ts(event.occurred_at),
            "follow_up_id": event.follow_up_id,
            "outcome": event.outcome,
            "satisfaction": event.satisfaction,
        }
    )
    for later in ("5", "6"):
        doc["steps"].pop(later, None)
        doc.get("backdated", {}).pop(later, None)
    _reach(row, 4, event.occurred_at)
    owner = ctx.tx.get(CUSTOMERS, ctx.canonical(row["customer_id"])) or customer
    owner["doc"]["stats"]["open_complaints"] += 1
    ctx.tx.put(CUSTOMERS, owner)


def on_escalated(ctx: Context, event: ComplaintEscalated, customer: Row) -> None:
    row = _complaint(ctx, event)
    if row is None:
        return
    row["doc"]["escalations"].append(
        {
            "at": ts(event.occurred_at),
            "escalated_to": event.escalated_to,
            "why": event.why,
            "level": event.level,
        }
    )
    if event.why == "sla_breached":
        row["doc"]["sla_breached"] = True
    if event.why == "apology_overdue":
        row["doc"]["apology_overdue"] = True


def on_apology_overdue(ctx: Context, event: ApologyOverdue, customer: Row) -> None:
    row = _complaint(ctx, event)
    if row is not None:
        row["doc"]["apology_overdue"] = True


def on_step_rejected(ctx: Context, event: ComplaintStepRejected, customer: Row) -> None:
    row = _complaint(ctx, event)
    if row is not None:
        row["doc"]["rejections"].append(
            {"at": ts(event.occurred_at), "attempted": event.attempted, "why": event.why}
        )
