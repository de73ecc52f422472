"""What a complaint rule returns (`Outcome`), and the refusal every rule may record.

Shared by the rules of the steps (rules.py), of escalation (escalations.py) and of the
call-back (callbacks.py). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from events import ComplaintStepRejected, Event
from laoke.decisions import decision
from services.complaints.aggregates import Complaint

SERVICE = "complaints"


@dataclass(frozen=True)
class DeadlineSpec:
    key: str
    kind: str
    ref: str
    due_at: datetime


@dataclass
class Outcome:
    """What one event or deadline changes; empty when it changes nothing."""

    complaint: Complaint | None = None
    decisions: list[Event] = field(default_factory=list)
    schedule: list[DeadlineSpec] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)


def rejected(complaint: Complaint | None, event: Event, complaint_id: str, why: str) -> Outcome:
    """Record `event` as refused; the complaint is left as it was."""
    refusal = decision(
        ComplaintStepRejected,
        event,
        source=SERVICE,
        occurred_at=event.occurred_at,
        customer_id=complaint.customer_id if complaint is not None else None,
        complaint_id=complaint_id,
        attempted=event.event_type,
        why=why,
    )
    return Outcome(decisions=[refusal])
