"""The customer list's filtered pages read their ids from an index (no customer row read to
test one), and a store whose classes' partial indexes lack columns gets them replaced."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from laoke.settings import LaokeSettings
from services.projections.migrations import index_columns
from services.projections.models import CustomerClassName
from services.projections.queries.customer_list import CustomerList, customer_list
from services.projections.readmodels.context import new_customer_doc
from services.projections.settings import ClassThresholds
from services.projections.store import ReadStore
from services.projections.tables import CLASS_INDEX_COLUMNS, CLASS_INDEXES, CUSTOMERS, ts

DEALERSHIP = "demo-4s"
NOW = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)
LIMITS = ClassThresholds()


def _settings(tmp_path: Path, postgres_dsn: str | None) -> LaokeSettings:
    return LaokeSettings(
        data_dir=tmp_path / "data",
        store="postgres" if postgres_dsn else "sqlite",
        postgres_dsn=postgres_dsn or "postgresql://unused",
    )


@pytest.fixture
def store(tmp_path: Path, postgres_dsn: str | None) -> Iterator[ReadStore]:
    """Ten customers, each a meteor: one big purchase 400 days ago, gone since."""
    found = ReadStore(_settings(tmp_path, postgres_dsn))
    with found.transaction() as tx:
        for n in range(10):
            doc = new_customer_doc(NOW - timedelta(days=400))
            doc["stats"].update(
                spend_cny=300000.0,
                vehicle_spend_cny=300000.0,
                vehicle_purchases=1,
                largest_purchase_cny=300000.0,
                last_big_purchase_at=ts(NOW - timedelta(days=400)),
            )
            tx.put(
                CUSTOMERS,
                {
                    "customer_id": f"c-{n:02d}",
                    "dealership_id": DEALERSHIP,
                    "merged_into": None,
                    "advisor_id": "adv-1",
                    "last_touch_at": ts(NOW - timedelta(days=400)),
                    "doc": doc,
                },
            )
    yield found
    found.close()


def _plans(store: ReadStore, page: CustomerList) -> list[str]:
    """The SQLite plan of every query the page ran, and the page's answer checked."""
    ran: list[tuple[str, Sequence[Any]]] = []
    query = store.query

    def recording(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        ran.append((sql, params))
        return query(sql, params)

    store.query = recording  # type: ignore[method-assign]
    try:
        answer = customer_list(store, page, LIMITS)
    finally:
        store.query = query  # type: ignore[method-assign]
    wanted = page.customer_class or "meteor"
    assert {i.customer_class for i in answer.items} <= {wanted}
    return [
        str(row[3]) for sql, params in ran for row in query(f"EXPLAIN QUERY PLAN {sql}", params)
    ]


@pytest.mark.parametrize(
    ("customer_class", "index"),
    [
        ("gold", "customers_gold"),
        ("burden", "customers_burden"),
        ("meteor", "customers_meteor"),
        ("small_star", "customers_class"),
    ],
)
def test_a_class_page_tests_the_class_on_its_index_entries(
    store: ReadStore, customer_class: CustomerClassName, index: str
) -> None:
    """Nobody is gold here: the gold page must read no customer row to find that out (it
    read all of the dealership's when SQLite took `customers_list` for the filter)."""
    if store.kind != "sqlite":
        pytest.skip("query plans are SQLite's")
    plans = _plans(store, CustomerList(DEALERSHIP, NOW, 3, customer_class=customer_class))
    assert any(f"COVERING INDEX {index} " in plan for plan in plans), plans
    assert not any("customers_list" in plan for plan in plans), plans


def test_a_neglect_page_tests_the_last_touchpoint_on_index_entries(store: ReadStore) -> None:
    if store.kind != "sqlite":
        pytest.skip("query plans are SQLite's")
    for neglected in (True, False):
        plans = _plans(store, CustomerList(DEALERSHIP, NOW, 3, neglected=neglected))
        assert any("COVERING INDEX customers_class " in plan for plan in plans), plans


def test_the_classes_partial_indexes_of_an_older_store_are_replaced(
    tmp_path: Path, postgres_dsn: str | None
) -> None:
    settings = _settings(tmp_path, postgres_dsn)
    store = ReadStore(settings)
    with store.transaction() as tx:
        for index in CLASS_INDEXES:
            assert index_columns(tx, index) == set(CLASS_INDEX_COLUMNS)
        tx.execute("DROP INDEX customers_gold")  # as the version before made it
        tx.execute(
            "CREATE INDEX customers_gold ON customers (dealership_id, customer_id, merged_into,"
            " last_touch_at, class_gold_from, class_big, class_meteor_from)"
            " WHERE class_burden = 0 AND class_gold_from IS NOT NULL"
        )
        assert "class_burden" not in index_columns(tx, "customers_gold")
    store.close()

    reopened = ReadStore(settings)
    with reopened.transaction() as tx:
        assert index_columns(tx, "customers_gold") == set(CLASS_INDEX_COLUMNS)
    reopened.close()
