"""A dealership's customers by class: count, value (margin) and cost per class."""

from __future__ import annotations

from datetime import datetime

from pydantic_core import from_json

from services.projections.classes import Classification, classify, totals
from services.projections.metricmodels import ClassesPublic, ClassTotalsPublic
from services.projections.settings import ClassThresholds
from services.projections.store import ReadStore

CHUNK = 5000  # customer documents read at a time


def class_totals(
    store: ReadStore, dealership_id: str, now: datetime, limits: ClassThresholds
) -> ClassesPublic:
    """Every customer of the dealership (merged ones counted in their survivor), classified
    as the profile classifies them now, summed per class; read in id order on the list's
    (dealership, customer) index, `CHUNK` documents at a time."""
    found: list[Classification] = []
    last = ""
    while rows := store.query(
        "SELECT customer_id, last_touch_at, doc FROM customers WHERE dealership_id = ?"
        " AND customer_id > ? AND merged_into IS NULL ORDER BY customer_id LIMIT ?",
        (dealership_id, last, CHUNK),
    ):
        found.extend(classify(from_json(doc), touch, now, limits) for _, touch, doc in rows)
        last = rows[-1][0]
    return ClassesPublic(
        dealership_id=dealership_id,
        as_of=now,
        classes=[
            ClassTotalsPublic(customer_class=name, customers=n, value_cny=value, cost_cny=cost)
            for name, (n, value, cost) in totals(found).items()
        ],
    )
