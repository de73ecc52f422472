"""The work in hand as gauges on /metrics (laoke/metrics.py; the Grafana board under
docker/grafana): open and escalated complaints and follow-ups due, per dealership.

Counted from the read store with one grouped query each, every `EVERY_S` seconds by the
projections service, so a scrape reads numbers and never the store. Several replicas over
one store report the same numbers: the board takes the largest per dealership.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Gauge

from laoke.metrics import COMPLAINTS_ESCALATED, COMPLAINTS_OPEN, FOLLOWUPS_DUE
from services.projections.store import ReadStore
from services.projections.tables import ts

EVERY_S = 15.0
# Documents are dumped with sorted keys and no spaces (tables.dump_doc), so a complaint
# never escalated holds exactly this text; quotes inside string values are escaped.
NEVER_ESCALATED = '%"escalations":[]%'


def counts(store: ReadStore, now: datetime) -> dict[Gauge, dict[str, int]]:
    complaints = store.query(
        "SELECT dealership_id, COUNT(*), SUM(CASE WHEN doc LIKE ? THEN 0 ELSE 1 END)"
        " FROM complaints WHERE resolved_at IS NULL GROUP BY dealership_id",
        (NEVER_ESCALATED,),
    )
    due = store.query(
        "SELECT dealership_id, COUNT(*) FROM followups WHERE status = 'open' AND due_at <= ?"
        " GROUP BY dealership_id",
        (ts(now),),
    )
    return {
        COMPLAINTS_OPEN: {d: int(n) for d, n, _ in complaints},
        COMPLAINTS_ESCALATED: {d: int(e or 0) for d, _, e in complaints},
        FOLLOWUPS_DUE: {d: int(n) for d, n in due},
    }


class WorkGauges:
    """Sets the gauges; a dealership that had some and has none now reads 0, not its last."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self.seen: dict[Gauge, set[str]] = {}

    def refresh(self, now: datetime) -> None:
        for gauge, by_dealership in counts(self.store, now).items():
            seen = self.seen.setdefault(gauge, set())
            for dealership in seen - set(by_dealership):
                gauge.labels(dealership).set(0)
            for dealership, value in by_dealership.items():
                gauge.labels(dealership).set(value)
            seen |= set(by_dealership)
