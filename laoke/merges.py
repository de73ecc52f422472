"""Following merges to the surviving customer: how every service reads a customer id.

Intake merges customers it finds to be one person (`CustomersMerged`); the merged ids stay on
earlier events. Each service keeps, in its own state, which customer a merged one went into
(`merged_into`); this is the one rule for following those links to the customer an id now
stands for. A split (`CustomersUnmerged`) gives back what was the restored customer's: the
rule for whose a follow-up is is here too, for outreach and projections alike.
"""

from __future__ import annotations

from collections.abc import Callable, Container

from events import FollowUpDue, FollowUpSkipped


def survivor(customer_id: str, merged_into: Callable[[str], str | None]) -> str:
    """The customer `customer_id` stands for: `merged_into(id)` followed until a customer
    not merged. A cycle (which intake never records) stops at the first id seen twice."""
    seen: set[str] = set()
    while customer_id not in seen and (next_id := merged_into(customer_id)):
        seen.add(customer_id)
        customer_id = next_id
    return customer_id


# The reasons outreach plans from its calendar (services/outreach/planner.py `plan_slot`),
# not because of an event: whose such a contact is follows the car it is about.
CALENDAR_REASONS = frozenset(
    {
        "reengagement",
        "birthday_greeting",
        "holiday_greeting",
        "service_reminder",
        "inspection_reminder",
        "insurance_reminder",
    }
)


def follow_up_origin(event: FollowUpDue | FollowUpSkipped) -> str | None:
    """The event a follow-up was planned because of (outreach's `FollowUpDue`, or the
    `FollowUpSkipped` of a contact refused at once): the event its chain began with, its
    correlation (an inbound event for outreach's own contacts, e.g. a purchase; for one
    another service asked for, that service's cause, e.g. the complaint's filing). None for
    a contact planned from the calendar: the event that scheduled it says nothing of it."""
    if event.reason in CALENDAR_REASONS or event.correlation_id is None:
        return None
    return str(event.correlation_id)


def follows_restored(
    origin: str | None,
    reason: str | None,
    vin: str | None,
    theirs: Container[str],
    cars: Container[str],
) -> bool:
    """Whether a follow-up kept under the survivor is the restored customer's after a split:
    its origin is one of their events (`theirs`: intake's re-attributed ones, or any they
    hold), or, planned from the calendar, it is about one of their cars. (A retry goes
    with the contact it retries.)"""
    if origin is not None:
        return origin in theirs
    return reason in CALENDAR_REASONS and vin is not None and vin in cars
