"""How each recorded event changes the read models: the entry point and the handler table.

`apply(tx, event, seq)` resolves the canonical customer (following merges), writes the
timeline row, moves the last touchpoint, then calls the event type's function from
`HANDLERS`. The functions live in `services.projections.readmodels`, one module per read
model, each typed with its event class; they read and write rows through `Tx` only (no
clock, no I/O beyond the transaction), so replaying the stream gives the same tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import events as ev
from events import EVENT_TYPES, CustomersMerged, Event
from services.projections.readmodels import (
    complaints,
    customers,
    erasure,
    followups,
    merges,
    referrals,
    splits,
    vehicles,
    workshop,
)
from services.projections.readmodels.context import Context
from services.projections.readmodels.prefetch import prefetch
from services.projections.settings import ProjectionSettings
from services.projections.tables import Row
from services.projections.transaction import Tx

__all__ = ["HANDLERS", "Handler", "apply", "prefetch"]

E = TypeVar("E", bound=Event)
Handler = Callable[[Context, Any, Row], None]


def _on(model: type[E], handler: Callable[[Context, E, Row], None]) -> tuple[str, Handler]:
    """One entry of the table; mypy checks that `handler` takes `model`'s events."""
    return model.type_name(), handler


_ENTRIES = [
    _on(ev.CustomerRegistered, customers.on_registered),
    _on(ev.CustomerVisited, customers.on_visited),
    _on(ev.VehiclePurchased, customers.on_purchased),
    _on(ev.VehicleDelivered, customers.on_delivered),
    _on(ev.ServiceCompleted, customers.on_service),
    _on(ev.SmallPurchaseMade, customers.on_small_purchase),
    _on(ev.ServiceCheckedIn, workshop.on_checked_in),
    _on(ev.RepairScopeChanged, workshop.on_scope_event),
    _on(ev.ScopeChangeApproved, workshop.on_scope_event),
    _on(ev.ScopeChangeDeclined, workshop.on_scope_event),
    _on(ev.ScopeChangeBreached, workshop.on_scope_breached),
    _on(ev.ContactPreferenceChanged, customers.on_preference),
    _on(ev.PhoneFlagged, customers.on_phone_flagged),
    _on(ev.CustomersMerged, merges.on_merged),
    _on(ev.CustomerSplitRequested, splits.on_split_requested),
    _on(ev.CustomersUnmerged, splits.on_unmerged),
    _on(ev.VehicleOwnershipChanged, vehicles.on_ownership_changed),
    _on(ev.CustomerErased, erasure.on_erased),
    _on(ev.PersonalDataErasureRequested, customers.on_timeline_only),
    _on(ev.ComplaintFiled, complaints.on_complaint_filed),
    _on(ev.ComplaintClockSet, complaints.on_clock_set),
    _on(ev.ApologyIssued, complaints.on_apology),
    _on(ev.ComplaintInvestigated, complaints.on_investigated),
    _on(ev.RemedyProposed, complaints.on_remedy_proposed),
    _on(ev.RemedyRefused, complaints.on_remedy_refused),
    _on(ev.RemedyAccepted, complaints.on_remedy_accepted),
    _on(ev.RemedyRejected, complaints.on_remedy_rejected),
    _on(ev.ComplaintResolved, complaints.on_resolved),
    _on(ev.ComplaintClosed, complaints.on_closed),
    _on(ev.ComplaintReopened, complaints.on_reopened),
    _on(ev.ComplaintEscalated, complaints.on_escalated),
    _on(ev.ApologyOverdue, complaints.on_apology_overdue),
    _on(ev.ComplaintStepRejected, complaints.on_step_rejected),
    _on(ev.ComplaintRiskFlagged, workshop.on_risk_flagged),
    _on(ev.ContactRequested, followups.on_contact_requested),
    _on(ev.FollowUpDue, followups.on_followup_due),
    _on(ev.FollowUpSkipped, followups.on_followup_skipped),
    _on(ev.FollowUpExpired, followups.on_followup_expired),
    _on(ev.FollowUpCompleted, followups.on_followup_completed),
    _on(ev.FollowUpAnswered, followups.on_followup_answered),
    _on(ev.SurveyAnswered, followups.on_survey),
    _on(ev.SurveyAnswerRejected, followups.on_survey_rejected),
    _on(ev.ReferralClaimed, referrals.on_referral_claimed),
    _on(ev.ReferralCallbackAnswered, referrals.on_referral_callback),
    _on(ev.ReferralVerified, referrals.on_referral_verified),
    _on(ev.ReferralRejected, referrals.on_referral_rejected),
    _on(ev.RewardGranted, referrals.on_reward),
]
HANDLERS: dict[str, Handler] = dict(_ENTRIES)
"""Every event type's function, by `event_type`: the one table of them."""

_missing = set(EVENT_TYPES) - set(HANDLERS)
if _missing:  # a new event type must be given a projection (even "timeline only")
    raise RuntimeError(f"projections has no handler for {sorted(_missing)}")
if len(HANDLERS) != len(_ENTRIES):
    raise RuntimeError("projections: an event type is in the handler table twice")


def apply(tx: Tx, event: Event, seq: int, settings: ProjectionSettings) -> None:
    """Apply one recorded event at stream position `seq`."""
    ctx = Context(tx, seq, settings, str(event.event_id))
    if event.customer_id is None:
        return  # recorded events always name the customer; nothing to attach this to
    customer_id = ctx.canonical(event.customer_id)
    if isinstance(event, CustomersMerged):
        customer_id = ctx.canonical(event.survivor_id)
    customer = ctx.customer(customer_id, event.dealership_id, event.occurred_at)
    customers.record(ctx, event, customer)
    customers.record_hints(ctx, event, customer)
    handler = HANDLERS.get(event.event_type)
    if handler is not None:
        handler(ctx, event, customer)
