"""Dealerships' customers by class: count, value (margin) and cost per class, in all and
per dealership or advisor.

Counted in SQL from the class columns the projector keeps (classes.py `Standing`,
`CLASS_SQL`): one pass over the dealership's rows of the `customers_class` index, no
document read. That pass still reads every customer (a class moves with the clock), so
`ClassCounts` keeps each dealership's counts in memory, counted again in the background
once they are `max_age` old (service.py): a request reads memory; the answer's `as_of` is
when its counts were taken.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.projections.classes import CLASS_SQL, CLASSES, CustomerClass, class_params
from services.projections.metricmodels import ClassesPublic, ClassGroupPublic, ClassTotalsPublic
from services.projections.settings import ClassThresholds
from services.projections.store import ReadStore

ClassCut = Literal["none", "dealership", "advisor"]
Sums = dict[CustomerClass, tuple[int, float, float]]  # customers, value, cost
UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class Counted:
    """One dealership's customers per advisor and class, as of `as_of`."""

    as_of: datetime
    by_advisor: dict[str, Sums]


def count(store: ReadStore, dealership_id: str, now: datetime, limits: ClassThresholds) -> Counted:
    """The dealership's customers (merged ones counted in their survivor) per advisor and
    class as of `now`, from the class columns."""
    by_advisor: dict[str, Sums] = defaultdict(dict)
    for advisor, name, n, value, cost in store.query(
        f"SELECT advisor_id, {CLASS_SQL} AS class, COUNT(*), SUM(value_cny), SUM(cost_cny)"
        " FROM customers WHERE dealership_id = ? AND merged_into IS NULL GROUP BY advisor_id,"
        " class",
        (*class_params(now, limits), dealership_id),
    ):
        by_advisor[advisor or UNASSIGNED][name] = (int(n), float(value or 0), float(cost or 0))
    return Counted(now, dict(by_advisor))


def add(*parts: Sums) -> Sums:
    """Sums of several groups, every class present (gold first), rounded to the fen."""
    found: dict[CustomerClass, tuple[int, float, float]] = {c: (0, 0.0, 0.0) for c in CLASSES}
    for part in parts:
        for name, (n, value, cost) in part.items():
            had = found[name]
            found[name] = (had[0] + n, had[1] + value, had[2] + cost)
    return {c: (n, round(v, 2), round(k, 2)) for c, (n, v, k) in found.items()}


def answer(
    counted: dict[str, Counted], dealerships: Sequence[str], group_by: ClassCut
) -> ClassesPublic:
    """The classes answer of these dealerships' counts, cut by `group_by`."""
    groups: dict[str, list[Sums]] = defaultdict(list)
    for dealership_id in dealerships:
        for advisor, sums in counted[dealership_id].by_advisor.items():
            key = {"dealership": dealership_id, "advisor": advisor}.get(group_by, "")
            groups[key].append(sums)
    return ClassesPublic(
        dealership_id=dealerships[0] if len(dealerships) == 1 else None,
        dealership_ids=list(dealerships),
        as_of=min(counted[d].as_of for d in dealerships),
        classes=_rows(add(*(s for parts in groups.values() for s in parts))),
        group_by=group_by,
        groups=[
            ClassGroupPublic(group=name, classes=_rows(add(*groups[name])))
            for name in ([] if group_by == "none" else sorted(groups))
        ],
    )


def _rows(sums: Sums) -> list[ClassTotalsPublic]:
    return [
        ClassTotalsPublic(customer_class=name, customers=n, value_cny=value, cost_cny=cost)
        for name, (n, value, cost) in sums.items()
    ]


class ClassCounts:
    """Each dealership's counts, kept in memory once asked for: a request takes them as they
    are while younger than `max_age` (else counts them itself first); `refresh` (the
    service's background loop) counts again those about to be that old."""

    def __init__(self, store: ReadStore, limits: ClassThresholds, max_age: timedelta) -> None:
        self.store = store
        self.limits = limits
        self.max_age = max_age
        self._counted: dict[str, Counted] = {}
        self._lock = threading.Lock()

    def answer(
        self, dealerships: Sequence[str], now: datetime, group_by: ClassCut = "none"
    ) -> ClassesPublic:
        with self._lock:
            held = dict(self._counted)
        for dealership_id in dealerships:
            found = held.get(dealership_id)
            if found is None or not now - self.max_age <= found.as_of <= now:
                held[dealership_id] = self._count(dealership_id, now)
        return answer(held, dealerships, group_by)

    def refresh(self, now: datetime) -> None:
        """Count again the dealerships whose counts are half their `max_age` old or more."""
        with self._lock:
            stale = [
                d for d, c in self._counted.items() if not now - self.max_age / 2 < c.as_of <= now
            ]
        for dealership_id in stale:
            self._count(dealership_id, now)

    def _count(self, dealership_id: str, now: datetime) -> Counted:
        found = count(self.store, dealership_id, now, self.limits)
        with self._lock:
            self._counted[dealership_id] = found
        return found
