"""Two rules about what an event means in time, shared by every reader (part of the contract).

- **Touchpoints** are contacts that happened (docs/domain.md "Touchpoints"): everything other
  systems report and a reward given, except an attempt that reached nobody (`no_answer`,
  `wrong_number`) and a change of contact preference. Only touchpoints move a customer's
  last touchpoint, and so the neglect clock.
- **Receipt time**: a sender's `occurred_at` cannot improve a figure staff are paid by. An
  inbound event recorded more than `BACKDATE_TOLERANCE` after its `occurred_at` is
  *backdated*, and a step of a case laoke watched live counts at its `received_at` (when
  laoke received it). A case reported after the fact as a whole (its first event backdated
  too: history imported, a batch sent late) was never watched: its steps count at their
  `occurred_at`, and readers mark them backdated.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from events.envelope import Event
from events.inbound import ContactPreferenceChanged, CustomerSplitRequested, FollowUpCompleted
from events.registry import INBOUND_TYPES

BACKDATE_TOLERANCE = timedelta(minutes=15)
"""How much later than its `occurred_at` an event may reach laoke and still count at it."""

FAILED_OUTCOMES = frozenset({"no_answer", "wrong_number"})
TOUCHPOINT_DECISIONS = frozenset({"RewardGranted"})


def is_touchpoint(event: Event) -> bool:
    """A contact with the customer that happened (it moves the last touchpoint)."""
    if event.event_type in TOUCHPOINT_DECISIONS:
        return True
    if event.event_type not in INBOUND_TYPES or isinstance(
        event,
        ContactPreferenceChanged | CustomerSplitRequested,  # a choice, ops' fix: no contact
    ):
        return False
    return not (isinstance(event, FollowUpCompleted) and event.outcome in FAILED_OUTCOMES)


def backdated(event: Event) -> bool:
    """Received more than `BACKDATE_TOLERANCE` after the sender says it happened."""
    received = event.received_at
    return received is not None and received - event.occurred_at > BACKDATE_TOLERANCE


def counted_at(event: Event, watched: bool = True) -> datetime:
    """When a step counts for a figure staff are paid by: its receipt if it is backdated
    and its case was `watched` live (the case's first event was not backdated)."""
    if watched and backdated(event) and event.received_at is not None:
        return event.received_at
    return event.occurred_at
