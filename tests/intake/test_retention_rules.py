"""The retention limit, pure (services/intake/retention.py): a prospect with no touchpoint
for N years is erased, a buyer never; the facts each event notes, folded over merges."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from events import Event, parse_inbound
from events.factories import sample_inbound
from services.intake.retention import (
    RECENT,
    SLACK,
    Erase,
    Facts,
    Keep,
    Reschedule,
    add_years,
    decide,
    due_at,
    folded,
    noted,
)
from services.intake.settings import IntakeSettings

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def event(event_type: str, at: datetime, received: datetime | None = None, **fields: Any) -> Event:
    """An inbound event as intake records it: received at `received` (default: `at`)."""
    data = sample_inbound(event_type, occurred_at=at.isoformat(), **fields)
    parsed = parse_inbound(json.dumps(data).encode(), None, now=NOW)
    return parsed.model_copy(update={"received_at": received or at})


def facts_of(*events: Event) -> Facts:
    facts = Facts()
    for one in events:
        facts = noted(facts, one) or facts
    return facts


def years_ago(years: float) -> datetime:
    return NOW - timedelta(days=365.25 * years)


def test_an_old_prospect_is_erased_dated_when_the_limit_came() -> None:
    visit = event("CustomerVisited", years_ago(4))
    verdict = decide(facts_of(visit), 3, NOW)
    assert verdict == Erase(at=add_years(visit.occurred_at + SLACK, 3), anchor=str(visit.event_id))
    assert verdict.at < NOW


def test_an_old_buyer_is_kept() -> None:
    facts = facts_of(
        event("CustomerVisited", years_ago(6)),
        event("VehiclePurchased", years_ago(5)),
    )
    assert facts.bought and due_at(facts, 3) is None
    assert decide(facts, 3, NOW) == Keep()
    later = event("CustomerVisited", years_ago(4))
    assert noted(facts, later) is None, "a buyer's facts no longer change"


@pytest.mark.parametrize(
    "purchase", ["VehiclePurchased", "VehicleDelivered", "ServiceCompleted", "SmallPurchaseMade"]
)
def test_each_kind_of_purchase_makes_a_buyer(purchase: str) -> None:
    assert facts_of(event(purchase, years_ago(10))).bought


def test_a_prospect_touched_within_the_limit_is_kept_until_three_years_after() -> None:
    recent = event("CustomerVisited", years_ago(1))
    facts = facts_of(event("CustomerRegistered", years_ago(4)), recent)
    verdict = decide(facts, 3, NOW)
    assert verdict == Reschedule(add_years(recent.occurred_at + SLACK, 3))
    assert facts.anchor == str(recent.event_id)


def test_the_timer_moves_when_a_new_touchpoint_arrives() -> None:
    first = facts_of(event("CustomerVisited", datetime(2024, 3, 1, tzinfo=UTC)))
    assert due_at(first, 3) == datetime(2027, 3, 2, tzinfo=UTC)
    call = event("FollowUpCompleted", datetime(2025, 7, 1, tzinfo=UTC), outcome="reached")
    moved = noted(first, call)
    assert moved is not None and due_at(moved, 3) == datetime(2028, 7, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_type", "fields"),
    [
        ("FollowUpCompleted", {"outcome": "no_answer"}),  # a call that reached nobody
        ("ContactPreferenceChanged", {}),  # a choice, not a contact
    ],
)
def test_what_is_not_a_touchpoint_does_not_move_the_timer(
    event_type: str, fields: dict[str, Any]
) -> None:
    visit = facts_of(event("CustomerVisited", datetime(2024, 3, 1, tzinfo=UTC)))
    later = event(event_type, datetime(2025, 7, 1, tzinfo=UTC), **fields)
    after = noted(visit, later)
    assert after is None or due_at(after, 3) == due_at(visit, 3)


def test_a_customer_never_touched_counts_from_their_first_event() -> None:
    opted_out = event("ContactPreferenceChanged", years_ago(4))
    facts = facts_of(opted_out)
    assert facts.anchor == str(opted_out.event_id)
    assert isinstance(decide(facts, 3, NOW), Erase)


def test_a_touchpoint_told_late_does_not_move_the_timer_back() -> None:
    recent = facts_of(event("CustomerVisited", years_ago(1)))
    told_late = noted(recent, event("CustomerVisited", years_ago(2), received=NOW))
    assert told_late is not None and told_late.anchor == recent.anchor
    assert due_at(told_late, 3) == due_at(recent, 3)


def test_noted_a_day_at_a_time_and_never_early() -> None:
    morning = event("CustomerVisited", datetime(2024, 3, 1, 9, tzinfo=UTC))
    evening = event("CustomerVisited", datetime(2024, 3, 1, 20, tzinfo=UTC))
    facts = facts_of(morning)
    assert noted(facts, evening) is None, "the same day: nothing to write"
    due = due_at(facts, 3)
    assert due is not None and add_years(evening.occurred_at, 3) <= due
    assert due - add_years(evening.occurred_at, 3) <= SLACK


def test_an_import_is_never_erased_within_recent_of_its_receipt() -> None:
    """A history import: a prospect last seen four years ago, received now, is due only
    `RECENT` after the import, so its later pieces count first."""
    imported = facts_of(event("CustomerVisited", years_ago(4), received=NOW))
    due = due_at(imported, 3)
    assert due is not None and NOW + RECENT <= due <= NOW + RECENT + SLACK
    assert isinstance(decide(imported, 3, NOW + timedelta(days=3)), Reschedule)
    assert isinstance(decide(imported, 3, NOW + RECENT + SLACK), Erase)


def test_a_merged_customers_purchase_counts_for_the_survivor() -> None:
    prospect = facts_of(event("CustomerVisited", years_ago(4)))
    buyer = facts_of(event("VehiclePurchased", years_ago(8)))
    assert decide(folded([prospect, buyer]), 3, NOW) == Keep()
    touched = facts_of(event("CustomerVisited", years_ago(1)))
    both = folded([prospect, touched])
    assert both.anchor == touched.anchor and isinstance(decide(both, 3, NOW), Reschedule)


def test_the_limit_is_per_dealership_and_three_years_by_default() -> None:
    settings = IntakeSettings(dealerships={"bj-4s": {"retention_years": 5}})
    assert settings.policy("demo-4s").retention_years == 3
    assert settings.policy("bj-4s").retention_years == 5
    facts = facts_of(event("CustomerVisited", years_ago(4)))
    assert isinstance(decide(facts, settings.policy("demo-4s").retention_years, NOW), Erase)
    assert isinstance(decide(facts, settings.policy("bj-4s").retention_years, NOW), Reschedule)
    with pytest.raises(ValueError, match="retention_years"):
        IntakeSettings(dealerships={"bj-4s": {"retention_years": 0}})


def test_a_leap_day_is_the_first_of_march_years_later() -> None:
    assert add_years(datetime(2024, 2, 29, 10, tzinfo=UTC), 3) == datetime(
        2027, 3, 1, 10, tzinfo=UTC
    )
