"""Repurchase by complaint outcome, pure (services/projections/repurchase.py): small
hand-made histories, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.projections.metrics import Fact, group_facts
from services.projections.repurchase import (
    ComplaintEnd,
    Purchase,
    complaint_status,
    outcome,
    status,
    window_start,
)

FILED = datetime(2025, 3, 1, 9, tzinfo=UTC)
RESOLVED = FILED + timedelta(hours=20)
CLOSED = FILED + timedelta(days=4)
YEAR = timedelta(days=365)
AFTER_WINDOW = CLOSED + YEAR + timedelta(days=1)

QUICK = ComplaintEnd(
    filed_at=FILED,
    resolved_at=RESOLVED,
    within_sla=True,
    closed_at=CLOSED,
    sla_due_at=FILED + timedelta(hours=48),
    repair_order_id="RO-1",
)


def bought(
    days_after_close: float, kind: str = "service", amount: float = 900.0, ref: str | None = "RO-7"
) -> Purchase:
    return Purchase(CLOSED + timedelta(days=days_after_close), kind, amount, ref)


def test_a_paid_service_within_the_window_is_a_repurchase() -> None:
    found = complaint_status(QUICK, [bought(30)], AFTER_WINDOW, YEAR)
    assert found == ("resolved_quickly", "repurchased")


def test_the_remedy_repair_is_not_a_repurchase() -> None:
    remedy_on_its_order = bought(10, ref="RO-1")  # the repair order the complaint was about
    rework = bought(12, kind="rework", ref="RO-8")  # the dealership redoing its own work
    found = complaint_status(QUICK, [remedy_on_its_order, rework], AFTER_WINDOW, YEAR)
    assert found == ("resolved_quickly", "not_repurchased")


def test_warranty_work_is_not_a_repurchase() -> None:
    warranty = bought(40, amount=0.0)  # zero-amount: warranty or goodwill
    found = complaint_status(QUICK, [warranty], AFTER_WINDOW, YEAR)
    assert found == ("resolved_quickly", "not_repurchased")


def test_a_complaint_inside_its_window_is_pending() -> None:
    inside = CLOSED + timedelta(days=200)
    assert complaint_status(QUICK, [bought(30)], inside, YEAR) == ("resolved_quickly", "pending")


def test_a_purchase_before_the_close_or_after_the_window_is_not_one() -> None:
    before_close = Purchase(RESOLVED + timedelta(hours=1), "vehicle", 150_000.0)
    too_late = bought(400, kind="vehicle", amount=150_000.0, ref=None)
    found = complaint_status(QUICK, [before_close, too_late], CLOSED + 2 * YEAR, YEAR)
    assert found == ("resolved_quickly", "not_repurchased")


def test_a_car_and_parts_are_repurchases() -> None:
    for purchase in (bought(5, "vehicle", 180_000.0, None), bought(5, "small", 320.0, "ORD-3")):
        assert status(CLOSED, [purchase], AFTER_WINDOW, YEAR) == "repurchased"


def test_outcomes_as_of_now() -> None:
    sla = FILED + timedelta(hours=48)
    open_one = ComplaintEnd(filed_at=FILED, sla_due_at=sla)
    assert outcome(open_one, FILED + timedelta(hours=47)) is None  # inside its SLA: none yet
    assert complaint_status(open_one, [], FILED + timedelta(hours=47), YEAR) is None
    assert outcome(open_one, sla + timedelta(seconds=1)) == "unresolved"
    assert window_start(open_one) == sla  # not resolved from the SLA's end on
    closed_unresolved = ComplaintEnd(filed_at=FILED, closed_at=CLOSED, sla_due_at=sla)
    assert outcome(closed_unresolved, FILED + timedelta(hours=1)) == "unresolved"
    slow = ComplaintEnd(filed_at=FILED, resolved_at=FILED + timedelta(days=5), within_sla=False)
    assert outcome(slow, AFTER_WINDOW) == "resolved_slowly"
    assert window_start(slow) == FILED + timedelta(days=5)  # call-back still to come
    assert window_start(QUICK) == CLOSED


def test_the_rate_counts_ended_windows_and_reports_the_pending() -> None:
    def complaint(standing: str) -> Fact:
        values = {
            "category": "delays",
            "hours_to_apology": None,
            "hours_to_resolution": 20.0,
            "sla_settled": True,
            "within_sla": True,
            "repurchase": ("resolved_quickly", standing),
            "step": 5,  # resolved, not closed (the funnel's step)
            "closed": False,
        }
        return Fact("complaint", "adv-1", "service", values)

    facts = [
        complaint("repurchased"),
        complaint("repurchased"),
        complaint("not_repurchased"),
        complaint("pending"),
        Fact("silent", None, "service", {"repurchase": "pending"}),
    ]
    (group,) = group_facts(facts, "none")
    quick = group.repurchase.resolved_quickly
    assert (quick.numerator, quick.denominator, quick.pending) == (2, 3, 1)
    assert quick.rate == round(2 / 3, 4)
    silent = group.repurchase.dissatisfied_never_complained
    assert (silent.denominator, silent.rate, silent.pending) == (0, None, 1)
