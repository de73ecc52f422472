"""Dealerships' customers by class: count, value (margin) and cost per class, in all and
per dealership or advisor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic_core import from_json

from services.projections.classes import Classification, classify, totals
from services.projections.metricmodels import ClassesPublic, ClassGroupPublic, ClassTotalsPublic
from services.projections.settings import ClassThresholds
from services.projections.store import ReadStore

CHUNK = 5000  # customer documents read at a time
ClassCut = Literal["none", "dealership", "advisor"]


def class_totals(
    store: ReadStore,
    dealerships: Sequence[str],
    now: datetime,
    limits: ClassThresholds,
    group_by: ClassCut = "none",
) -> ClassesPublic:
    """Every customer of the dealerships (merged ones counted in their survivor),
    classified as the profile classifies them now, summed per class (and per dealership or
    advisor); read in id order on the list's (dealership, customer) index, `CHUNK`
    documents at a time."""
    found: dict[str, list[Classification]] = defaultdict(list)
    for dealership_id in dealerships:
        last = ""
        while rows := store.query(
            "SELECT customer_id, advisor_id, last_touch_at, doc FROM customers WHERE"
            " dealership_id = ? AND customer_id > ? AND merged_into IS NULL"
            " ORDER BY customer_id LIMIT ?",
            (dealership_id, last, CHUNK),
        ):
            for _, advisor, touch, doc in rows:
                group = {"dealership": dealership_id, "advisor": advisor or "unassigned"}
                found[group.get(group_by, "")].append(classify(from_json(doc), touch, now, limits))
            last = rows[-1][0]
    every = [item for items in found.values() for item in items]
    groups = [] if group_by == "none" else sorted(found)
    return ClassesPublic(
        dealership_id=dealerships[0] if len(dealerships) == 1 else None,
        dealership_ids=list(dealerships),
        as_of=now,
        classes=_rows(every),
        group_by=group_by,
        groups=[ClassGroupPublic(group=name, classes=_rows(found[name])) for name in groups],
    )


def _rows(found: Sequence[Classification]) -> list[ClassTotalsPublic]:
    return [
        ClassTotalsPublic(customer_class=name, customers=n, value_cny=value, cost_cny=cost)
        for name, (n, value, cost) in totals(found).items()
    ]
