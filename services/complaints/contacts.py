"""Step 6 through the contact gate (pure): complaints asks, outreach's rules decide.

Complaints does not plan its call-back itself: it records `ContactRequested` (the earliest
time it wants the call, the channel), and outreach's contact rules — the one place they
live (docs/outreach.md) — record the `FollowUpDue` at an allowed time (out of quiet hours)
or a `FollowUpSkipped` with the reason. Complaints reads the refusal: a call-back refused by
an opt-out closes the complaint as `opted_out`; one with no working channel (every number
wrong) as `unreachable`.
"""

from __future__ import annotations

from datetime import datetime

from events import ComplaintClosed, ContactRequested, Event, FollowUpSkipped
from laoke.decisions import decision
from services.complaints.aggregates import Complaint
from services.complaints.settings import Policy

SERVICE = "complaints"
OPTED_OUT = frozenset({"opted_out", "channel_opted_out"})


def callback_request(
    complaint: Complaint,
    cause: Event,
    follow_up_id: str,
    not_before: datetime,
    policy: Policy,
    detail: dict[str, str],
) -> ContactRequested:
    """Ask for the step-6 call-back (attempt named by `follow_up_id`) from `not_before` on."""
    return decision(
        ContactRequested,
        cause,
        source=SERVICE,
        occurred_at=cause.occurred_at,
        name=follow_up_id,
        customer_id=complaint.customer_id,
        follow_up_id=follow_up_id,
        reason="complaint_callback",
        not_before=not_before,
        channels=[policy.callback_channel],
        complaint_id=complaint.complaint_id,
        detail=detail,
    )


def callback_refused(complaint: Complaint, event: FollowUpSkipped) -> list[Event]:
    """The contact rules refused the latest call-back attempt: the complaint closes without
    a call (`opted_out`, or `unreachable` when no channel works). A refusal of an earlier
    attempt, or after the close, changes nothing."""
    if complaint.closed_at is not None or event.follow_up_id != complaint.follow_up_id:
        return []
    outcome = "opted_out" if event.skip_reason in OPTED_OUT else "unreachable"
    complaint.close_not_called(at=event.occurred_at, outcome=outcome)
    closed = decision(
        ComplaintClosed,
        event,
        source=SERVICE,
        occurred_at=event.occurred_at,
        customer_id=complaint.customer_id,
        complaint_id=complaint.complaint_id,
        follow_up_id=event.follow_up_id,
        outcome=outcome,
    )
    return [closed]
