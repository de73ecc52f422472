"""The workshop's pure rules: dispatch order, hold and resume, breach. No I/O."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from workshop_helpers import CUSTOMER, T0, at, recorded

from events import (
    ComplaintRiskFlagged,
    ContactRequested,
    RepairScopeChanged,
    ScopeChangeApproved,
    ScopeChangeBreached,
    ScopeChangeDeclined,
    ServiceCheckedIn,
    ServiceCompleted,
)
from services.workshop import rules
from services.workshop.aggregates import RepairOrder
from services.workshop.rules import QueuedOrder, dispatch_order
from services.workshop.settings import DEFAULT_PRIORITY, Policy, WorkshopSettings

POLICY = Policy()


def checked_in(ro: str, kind: str, minutes: float = 0, **more: Any) -> RepairOrder:
    event = recorded(
        ServiceCheckedIn, repair_order_id=ro, arrival_kind=kind, occurred_at=at(minutes), **more
    )
    outcome = rules.check_in(None, event)
    assert outcome.order is not None
    return outcome.order


def queued(*orders: RepairOrder) -> list[str]:
    return [o.repair_order_id for o in dispatch_order(map(QueuedOrder.of, orders), POLICY)]


def test_default_priority_is_domain_order() -> None:
    assert list(DEFAULT_PRIORITY) == [
        "rework",
        "emergency",
        "appointment",
        "waiting",
        "vip",
        "walk_in",
    ]


@pytest.mark.parametrize("first,second", list(itertools.combinations(DEFAULT_PRIORITY, 2)))
def test_every_pair_of_arrival_kinds_dispatches_the_higher_priority_first(
    first: str, second: str
) -> None:
    # The lower-priority order arrived earlier: the kind still wins over arrival time.
    early_low = checked_in("RO-LOW", second, minutes=0)
    late_high = checked_in("RO-HIGH", first, minutes=30)
    assert queued(early_low, late_high) == ["RO-HIGH", "RO-LOW"]
    assert queued(late_high, early_low) == ["RO-HIGH", "RO-LOW"]


def test_same_kind_dispatches_by_arrival_time_then_id() -> None:
    a = checked_in("RO-B", "vip", minutes=5)
    b = checked_in("RO-C", "vip", minutes=1)
    c = checked_in("RO-A", "vip", minutes=5)
    assert queued(a, b, c) == ["RO-C", "RO-A", "RO-B"]


def test_a_dealership_may_set_its_own_priority() -> None:
    settings = WorkshopSettings(
        dealerships={
            "vip-first": {"priority": ["vip", *[k for k in DEFAULT_PRIORITY if k != "vip"]]}
        }
    )
    vip = checked_in("RO-VIP", "vip", minutes=10)
    rework = checked_in("RO-RW", "rework", minutes=0)
    orders = [QueuedOrder.of(vip), QueuedOrder.of(rework)]
    ours = [o.repair_order_id for o in dispatch_order(orders, settings.policy("vip-first"))]
    default = [o.repair_order_id for o in dispatch_order(orders, settings.policy("other"))]
    assert ours == ["RO-VIP", "RO-RW"]
    assert default == ["RO-RW", "RO-VIP"]


def test_a_priority_that_misses_a_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        WorkshopSettings(dealerships={"d": {"priority": ["rework", "vip"]}})


def test_scope_change_holds_the_order_and_asks_for_a_contact_at_once() -> None:
    order = checked_in("RO-1", "waiting")
    change = recorded(
        RepairScopeChanged,
        repair_order_id="RO-1",
        added_items=["front brake pads"],
        extra_amount_cny=1200,
        occurred_at=at(40),
    )
    outcome = rules.change_scope(order, change, POLICY)
    assert order.state == "on_hold"
    assert order.on_hold_since == T0 + timedelta(minutes=40)
    assert order.pending_items == ["front brake pads"]
    [contact] = outcome.decisions
    assert isinstance(contact, ContactRequested)  # outreach's contact rules plan it
    assert contact.reason == "scope_change_contact"
    assert contact.channels == ["phone"]
    assert contact.not_before == change.occurred_at
    assert contact.customer_id == CUSTOMER
    assert contact.causation_id == change.event_id
    assert contact.detail["contact_class"] == "complaint"


def test_approval_resumes_with_the_added_items() -> None:
    order = checked_in("RO-1", "appointment")
    rules.change_scope(order, recorded(RepairScopeChanged, repair_order_id="RO-1"), POLICY)
    outcome = rules.approve_scope(order, recorded(ScopeChangeApproved, repair_order_id="RO-1"))
    assert outcome.order is order and outcome.decisions == []
    assert order.state == "open"
    assert order.pending_items == [] and order.on_hold_since is None
    assert order.approved_items == ["front brake pads"]


def test_decline_resumes_with_the_original_scope() -> None:
    order = checked_in("RO-1", "appointment")
    rules.change_scope(order, recorded(RepairScopeChanged, repair_order_id="RO-1"), POLICY)
    rules.decline_scope(order, recorded(ScopeChangeDeclined, repair_order_id="RO-1"))
    assert order.state == "open"
    assert order.approved_items == []
    assert order.declined_items == ["front brake pads"]
    assert order.pending_amount_cny == Decimal(0)


def test_a_second_change_before_the_answer_adds_to_the_pending_one() -> None:
    order = checked_in("RO-1", "vip")
    for minutes, item in ((10, "pads"), (20, "discs")):
        change = recorded(
            RepairScopeChanged,
            repair_order_id="RO-1",
            added_items=[item],
            extra_amount_cny=100,
            occurred_at=at(minutes),
        )
        assert len(rules.change_scope(order, change, POLICY).decisions) == 1
    assert order.pending_items == ["pads", "discs"]
    assert order.pending_amount_cny == Decimal(200)
    assert order.on_hold_since == T0 + timedelta(minutes=10)


def test_completion_without_approval_is_a_breach_and_a_risk_flag() -> None:
    order = checked_in("RO-1", "waiting", advisor_id="adv-009")
    rules.change_scope(order, recorded(RepairScopeChanged, repair_order_id="RO-1"), POLICY)
    done = recorded(ServiceCompleted, repair_order_id="RO-1", advisor_id="adv-002")
    outcome = rules.complete(order, done)
    breach, risk = outcome.decisions
    assert isinstance(breach, ScopeChangeBreached)
    assert breach.repair_order_id == "RO-1" and breach.advisor_id == "adv-002"
    assert isinstance(risk, ComplaintRiskFlagged)
    assert risk.customer_id == CUSTOMER and risk.repair_order_id == "RO-1"
    assert "front brake pads" in risk.why
    assert order.state == "closed" and order.breached
    assert breach.event_id != risk.event_id


@pytest.mark.parametrize("approved", [True, False], ids=["approved", "declined"])
def test_completion_after_the_customer_answered_is_no_breach(approved: bool) -> None:
    order = checked_in("RO-1", "waiting")
    rules.change_scope(order, recorded(RepairScopeChanged, repair_order_id="RO-1"), POLICY)
    if approved:
        rules.approve_scope(order, recorded(ScopeChangeApproved, repair_order_id="RO-1"))
    else:
        rules.decline_scope(order, recorded(ScopeChangeDeclined, repair_order_id="RO-1"))
    outcome = rules.complete(order, recorded(ServiceCompleted, repair_order_id="RO-1"))
    assert outcome.decisions == []
    assert order.state == "closed" and not order.breached


def test_events_for_unknown_orders_change_nothing() -> None:
    outcomes = [
        rules.change_scope(None, recorded(RepairScopeChanged, repair_order_id="RO-X"), POLICY),
        rules.approve_scope(None, recorded(ScopeChangeApproved, repair_order_id="RO-X")),
        rules.decline_scope(None, recorded(ScopeChangeDeclined, repair_order_id="RO-X")),
    ]
    for outcome in outcomes:
        assert outcome.order is None and outcome.decisions == [] and outcome.ignored
    completed = rules.complete(None, recorded(ServiceCompleted, repair_order_id="RO-X"))
    assert completed.order is None and completed.decisions == []


def test_a_repeated_check_in_is_ignored() -> None:
    order = checked_in("RO-1", "vip")
    again = rules.check_in(order, recorded(ServiceCheckedIn, repair_order_id="RO-1"))
    assert again.order is None and again.ignored
    assert order.arrival_kind == "vip"


def test_waiting_minutes_from_the_clock() -> None:
    assert rules.waiting_minutes(T0, T0 + timedelta(minutes=90, seconds=59)) == 90
    assert rules.waiting_minutes(T0, T0 - timedelta(minutes=5)) == 0
