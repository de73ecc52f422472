"""Customer classes, pure (services/projections/classes.py): hand-made histories whose
counters are kept as the projector keeps them (readmodels/customers.py, complaints.py)."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from services.projections.classes import (
    CANDIDATES_SQL,
    CLASS_COLUMNS,
    CLASS_SQL,
    Standing,
    class_at,
    class_params,
    classify,
    standing,
    totals,
)
from services.projections.readmodels.context import new_customer_doc
from services.projections.settings import ClassThresholds
from services.projections.tables import ts

NOW = datetime(2026, 1, 20, tzinfo=UTC)
LIMITS = ClassThresholds()


class History:
    """A customer first seen `since` days ago; each call adds what one event adds."""

    def __init__(self, since: int) -> None:
        self.doc: dict[str, Any] = new_customer_doc(NOW - timedelta(days=since))
        self.stats = self.doc["stats"]
        self.last_touch: str | None = None

    def _touch(self, days: int) -> str:
        at = ts(NOW - timedelta(days=days))
        self.last_touch = max(self.last_touch or at, at)
        return at

    def car(self, days: int, price: float) -> History:
        at, s = self._touch(days), self.stats
        s["vehicle_purchases"] += 1
        s["spend_cny"] += price
        s["vehicle_spend_cny"] += price
        s["largest_purchase_cny"] = max(s["largest_purchase_cny"], price)
        if price >= float(LIMITS.big_purchase_cny):
            s["last_big_purchase_at"] = at
        return self

    def service(self, days: int, amount: float, kind: str = "maintenance") -> History:
        at, s = self._touch(days), self.stats
        s["service_visits"] += 1
        s["spend_cny"] += amount
        s["service_spend_cny"] += amount
        if kind == "rework":
            s["reworks"] += 1
        elif amount <= 0:
            s["free_service_visits"] += 1
        else:
            s["paid_service_visits"] += 1
            s["first_paid_service_at"] = min(s["first_paid_service_at"] or at, at)
            s["last_paid_service_at"] = max(s["last_paid_service_at"] or at, at)
        return self

    def complaint(self, days: int, remedy: float = 0.0) -> History:
        self._touch(days)
        self.stats["complaints"] += 1
        self.stats["remedies_paid_cny"] += remedy
        return self

    def classify(self) -> Any:
        return classify(self.doc, self.last_touch, NOW, LIMITS)


def loyal_owner() -> History:
    """Two years a customer: a 300k car, then paid service every ~4 months."""
    history = History(since=730).car(730, 300_000.0)
    for days in (600, 480, 360, 240, 120, 10):
        history.service(days, 2_500.0)
    return history


def test_a_loyal_owner_of_two_years_is_gold() -> None:
    found = loyal_owner().classify()
    assert found.customer_class == "gold", found.because
    assert any("regular" in reason for reason in found.because)
    # value is margin: 4 % of the car, 45 % of the service
    assert found.facts["value_cny"] == round(300_000 * 0.04 + 15_000 * 0.45, 2)


def test_a_day_0_buyer_is_not_gold() -> None:
    found = History(since=0).car(0, 350_000.0).classify()
    assert found.customer_class != "gold"
    assert found.facts["value_cny"] >= float(LIMITS.gold_min_value_cny)  # value is not why
    assert any("a customer for 0 days" in reason for reason in found.because)


def test_five_complaints_and_two_reworks_a_week_apart_are_not_gold() -> None:
    history = History(since=730).car(730, 350_000.0).service(400, 2_500.0)
    history.service(60, 0.0, "rework").service(53, 0.0, "rework")  # not regular service
    for days in (70, 62, 55, 40, 20):
        history.complaint(days)
    found = history.classify()
    assert found.customer_class != "gold"
    assert found.facts["mean_days_between_paid_services"] is None  # reworks are no loyalty
    assert found.facts["cost_by_cause_cny"]["reworks"] == 2 * float(LIMITS.rework_cost_cny)
    assert found.facts["cost_by_cause_cny"]["complaints"] == 5 * float(LIMITS.complaint_cost_cny)


def test_an_owner_with_heavy_remedies_is_burden() -> None:
    history = loyal_owner().complaint(90, remedy=18_000.0).complaint(30, remedy=6_000.0)
    found = history.classify()
    assert found.customer_class == "burden", found.because
    assert found.cost_cny > found.value_cny
    assert "remedies" in found.because[1]


def test_many_complaints_and_little_value_make_a_burden() -> None:
    history = History(since=400).service(300, 6_000.0)  # value 2,700 > cost 1,500
    for days in (200, 100, 10):
        history.complaint(days)
    found = history.classify()
    assert found.customer_class == "burden"
    assert any("3 complaints" in reason for reason in found.because)


def test_one_big_purchase_then_gone_is_a_meteor() -> None:
    found = History(since=400).car(400, 290_000.0).classify()
    assert found.customer_class == "meteor"
    assert found.facts["days_since_last_touchpoint"] == 400


def test_small_steady_spend_is_a_small_star() -> None:
    history = History(since=400)
    for days in (360, 180, 10):
        history.service(days, 1_000.0)
    found = history.classify()
    assert found.customer_class == "small_star"
    assert any("steady" in reason for reason in found.because)


def test_totals_per_class_sum_count_value_and_cost() -> None:
    found = [loyal_owner().classify(), loyal_owner().classify(), History(0).classify()]
    summed = totals(found)
    assert summed["gold"] == (2, 2 * found[0].value_cny, 2 * found[0].cost_cny)
    assert summed["small_star"] == (1, 0.0, 0.0)
    assert summed["burden"] == summed["meteor"] == (0, 0.0, 0.0)


def _sql_class(s: Standing, last_touch: str | None, now: datetime) -> str:
    """`CLASS_SQL` over one row holding the standing's columns, in SQLite (and the class's
    `CANDIDATES_SQL` true of it)."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE customers (last_touch_at TEXT, {', '.join(CLASS_COLUMNS)})")
    values = (int(s.burden), s.gold_from, int(s.big), s.meteor_from, s.value_cny, s.cost_cny)
    db.execute("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)", (last_touch, *values))
    (found,) = db.execute(
        f"SELECT {CLASS_SQL} FROM customers", class_params(now, LIMITS)
    ).fetchone()
    (candidate,) = db.execute(f"SELECT {CANDIDATES_SQL[found]} FROM customers").fetchone()
    assert candidate == 1, (found, s)  # the list looks for a class among its candidates
    return str(found)


def test_the_class_from_the_stored_standing_is_the_profiles_in_python_and_in_sql() -> None:
    """The class columns and `CLASS_SQL` (what the counts and the list's filter read) give
    the class `classify` gives, at any moment: random histories asked at random times,
    around the lines that move with the clock (tenure, recency, a big purchase's age)."""
    rng = random.Random(21)
    seen = set()
    for _ in range(400):
        history = History(since=rng.choice([0, 30, 200, 364, 365, 366, 800]))
        for _ in range(rng.randrange(0, 3)):
            history.car(rng.randrange(0, 700), rng.choice([80_000, 150_000, 350_000]))
        for _ in range(rng.randrange(0, 8)):
            kind = rng.choice(["maintenance", "maintenance", "rework"])
            history.service(rng.randrange(0, 700), rng.choice([0, 800, 3000]), kind)
        for _ in range(rng.choice([0, 0, 1, 3])):
            history.complaint(rng.randrange(0, 700), rng.choice([0, 500, 30_000]))
        if rng.random() < 0.2:
            history.last_touch = None
        now = NOW + timedelta(days=rng.choice([0, 1, 150, 180, 181, 182, 201, 202, 365]))
        now += timedelta(hours=rng.randrange(0, 24))
        expected = classify(history.doc, history.last_touch, now, LIMITS).customer_class
        found = standing(history.doc, LIMITS)
        assert class_at(found, history.last_touch, now, LIMITS) == expected
        assert _sql_class(found, history.last_touch, now) == expected
        seen.add(expected)
    assert seen == {"gold", "meteor", "small_star", "burden"}  # every line was crossed
