"""The counters' rule (readmodels/tallies.py), pure: a recount folds the rows in whatever
order the store gives them, so the same rows must give the same counters in any order."""

from __future__ import annotations

from itertools import permutations

from services.projections.readmodels.context import new_stats
from services.projections.readmodels.tallies import count_purchase

BIG = 100_000.0
ROWS = [
    ("vehicle", 300_000.0, "2025-01-10T00:00:00Z"),
    ("vehicle", 150_000.0, "2024-06-01T00:00:00Z"),  # an older big purchase, sent late
    ("service", 800.0, "2025-03-01T00:00:00Z"),
    ("service", 0.0, "2025-04-01T00:00:00Z"),
    ("rework", 0.0, "2025-05-01T00:00:00Z"),
    ("service", 1200.5, "2025-09-01T00:00:00Z"),
    ("small", 99.9, "2025-02-01T00:00:00Z"),
]


def _counted(rows: list[tuple[str, float, str]]) -> dict[str, object]:
    stats = new_stats()
    for kind, amount, at in rows:
        count_purchase(stats, kind, amount, at, BIG)
    return stats


def test_purchases_counted_by_kind_line_and_date() -> None:
    stats = _counted(ROWS)
    assert stats["spend_cny"] == 452_100.4
    assert (stats["vehicle_spend_cny"], stats["service_spend_cny"]) == (450_000.0, 2000.5)
    assert (stats["parts_spend_cny"], stats["small_purchases"]) == (99.9, 1)
    assert (stats["vehicle_purchases"], stats["largest_purchase_cny"]) == (2, 300_000.0)
    assert stats["last_big_purchase_at"] == "2025-01-10T00:00:00Z"
    assert (stats["service_visits"], stats["paid_service_visits"]) == (4, 2)
    assert (stats["free_service_visits"], stats["reworks"]) == (1, 1)
    assert (stats["first_service_at"], stats["last_service_at"]) == (
        "2025-03-01T00:00:00Z",
        "2025-09-01T00:00:00Z",
    )
    assert (stats["first_paid_service_at"], stats["last_paid_service_at"]) == (
        "2025-03-01T00:00:00Z",
        "2025-09-01T00:00:00Z",
    )


def test_the_order_of_the_rows_changes_nothing() -> None:
    first = _counted(ROWS)
    for order in permutations(ROWS[:5]):
        assert _counted([*order, *ROWS[5:]]) == first
