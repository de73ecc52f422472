"""An erased customer (`CustomerErased`): every open contact is cancelled, recorded."""

from __future__ import annotations

from events import CustomerErased
from laoke.work import UnitOfWork
from services.outreach.aggregates import ContactPlan
from services.outreach.recording import skip_open

WHY = "the customer's personal data was erased"


def erase(state: ContactPlan, event: CustomerErased, work: UnitOfWork) -> None:
    """Skip (`erased`) each contact still open, ours and those others requested; drop the
    plan's deadline slots and what it knew of whom to call (the caller cancels the
    deadlines: application.py)."""
    for follow_up in list(state.follow_ups.values()):
        if follow_up.status == "due":
            name = f"erase:{follow_up.follow_up_id}"
            skip_open(state, follow_up, event, "erased", WHY, name, work)
    state.erase()
