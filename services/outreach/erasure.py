"""An erased customer (`CustomerErased`): every open contact is cancelled, recorded."""

from __future__ import annotations

from events import CustomerErased
from laoke.work import UnitOfWork
from services.outreach.aggregates import ContactPlan
from services.outreach.planner import PlannedContact
from services.outreach.recording import (
    SERVICE,
    request_cause,
    request_refusal,
    skipped_decision,
)
from services.outreach.rules import Skipped

WHY = "the customer's personal data was erased"


def erase(state: ContactPlan, event: CustomerErased, work: UnitOfWork) -> None:
    """Skip (`erased`) each contact still open, ours and those others requested; drop the
    plan's deadline slots and what it knew of whom to call (the caller cancels the
    deadlines: application.py)."""
    for follow_up in list(state.follow_ups.values()):
        if follow_up.status != "due":
            continue
        contact = PlannedContact(
            follow_up.follow_up_id, follow_up.reason, follow_up.due_at, (follow_up.channel,), {}
        )
        skip = Skipped(contact, "erased", WHY)
        state.cancel_follow_up(follow_up.follow_up_id, "erased")
        if follow_up.request_id is not None:
            about = {"complaint_id": follow_up.complaint_id, "referral_id": follow_up.referral_id}
            cause = request_cause(state, follow_up)
            work.decide(
                request_refusal(cause, follow_up.follow_up_id, skip, event.occurred_at, about)
            )
        elif follow_up.source == SERVICE:
            name = f"erase:{follow_up.follow_up_id}"
            work.decide(
                skipped_decision(
                    event, follow_up.follow_up_id, follow_up.reason, skip, name, event.occurred_at
                )
            )
    state.erase()
