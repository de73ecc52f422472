"""The facts of the retention figures (services/projections/retention.py) for one
dealership and period: its new customers on (dealership, first seen), its lost ones on
(dealership, last touchpoint), and what each needs of their own rows on the customer
indexes of the timeline, referrals, purchases, complaints and signals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from services.projections.classes import neglected_up_to
from services.projections.metrics import Fact
from services.projections.retention import Touch, cause_of, source_of
from services.projections.settings import ClassThresholds
from services.projections.store import ReadStore
from services.projections.tables import parse_ts, ts

CHUNK = 500  # customer ids per `IN (...)`
NEW_DEPARTMENT, LOST_DEPARTMENT = "sales", "customer_care"


def load_retention_facts(
    store: ReadStore,
    dealership_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    limits: ClassThresholds,
) -> list[Fact]:
    """A `newcomer` fact per customer first seen in [start, end) (`source`, `bought`: a
    vehicle bought by now), and a `lost` fact (`cause`) per customer lost in it: a paid
    purchase on record, and their last touchpoint became more than `recency_days` old
    within the period, by `now` (`classes.neglected_up_to`: the line the classes and the
    customer list draw)."""
    return [
        *_newcomers(store, dealership_id, ts(start), ts(end), ts(now)),
        *_lost(store, dealership_id, start, end, now, limits),
    ]


def _chunks(ids: Sequence[str]) -> Iterator[tuple[Sequence[str], str]]:
    for at in range(0, len(ids), CHUNK):
        chunk = ids[at : at + CHUNK]
        yield chunk, ", ".join("?" * len(chunk))


def _touches(store: ReadStore, ids: Sequence[str], since: str = "") -> dict[str, list[Touch]]:
    """Each customer's touchpoints from `since` on, in time (then stream) order."""
    found: dict[str, list[Touch]] = defaultdict(list)
    for chunk, marks in _chunks(ids):
        for customer_id, at, event_type, kind in store.query(
            "SELECT customer_id, occurred_at, event_type, kind FROM timeline"
            f" WHERE customer_id IN ({marks}) AND occurred_at >= ? AND touchpoint = 1"
            " ORDER BY customer_id, occurred_at, seq",
            (*chunk, since),
        ):
            found[customer_id].append(Touch(parse_ts(at), event_type, kind))
    return found


def _having(store: ReadStore, sql: str, ids: Sequence[str], *params: str) -> set[str]:
    """The customers of `ids` for whom `sql` (`… WHERE customer_id IN ({marks}) …`) finds a
    row."""
    found: set[str] = set()
    for chunk, marks in _chunks(ids):
        found.update(r[0] for r in store.query(sql.format(marks=marks), (*chunk, *params)))
    return found


def _newcomers(store: ReadStore, d: str, lo: str, hi: str, now: str) -> list[Fact]:
    rows = store.query(
        "SELECT customer_id, advisor_id FROM customers WHERE dealership_id = ?"
        " AND first_seen_at >= ? AND first_seen_at < ? AND merged_into IS NULL",
        (d, lo, hi),
    )
    ids = [r[0] for r in rows]
    touches = _touches(store, ids)
    referred = _having(
        store, "SELECT DISTINCT customer_id FROM referrals WHERE customer_id IN ({marks})", ids
    )
    bought = _having(
        store,
        "SELECT DISTINCT customer_id FROM purchases WHERE customer_id IN ({marks})"
        " AND kind = 'vehicle' AND at <= ?",
        ids,
        now,
    )
    facts = []
    for customer_id, advisor in rows:
        first = touches[customer_id][0] if touches.get(customer_id) else None
        values = {
            "source": source_of(first, customer_id in referred),
            "bought": customer_id in bought,
        }
        facts.append(Fact("newcomer", advisor, NEW_DEPARTMENT, values, 1, d))
    return facts


def _lost(
    store: ReadStore,
    d: str,
    start: datetime,
    end: datetime,
    now: datetime,
    limits: ClassThresholds,
) -> list[Fact]:
    """Lost in [start, end) by `now`. A customer is lost at a moment when their last
    touchpoint is at or before `neglected_up_to` it: from last touchpoint + recency_days +
    1 day on, so that moment is in the period when the last touchpoint is in
    [neglected_up_to(start), neglected_up_to(end)), and has come when it is at or before
    neglected_up_to(now)."""
    rows = store.query(
        "SELECT c.customer_id, c.advisor_id, c.last_touch_at FROM customers c"
        " WHERE c.dealership_id = ? AND c.last_touch_at >= ? AND c.last_touch_at < ?"
        " AND c.last_touch_at <= ? AND c.merged_into IS NULL AND EXISTS (SELECT 1 FROM"
        " purchases p WHERE p.customer_id = c.customer_id AND p.amount_cny > 0)",
        (
            d,
            ts(neglected_up_to(start, limits)),
            ts(neglected_up_to(end, limits)),
            ts(neglected_up_to(now, limits)),
        ),
    )
    if not rows:
        return []
    lapse = timedelta(days=limits.recency_days)
    ids = [r[0] for r in rows]
    since = ts(min(parse_ts(r[2]) for r in rows) - lapse)
    touches = _touches(store, ids, since)
    complaints: dict[str, list[datetime]] = defaultdict(list)
    signals: dict[str, list[datetime]] = defaultdict(list)
    for table, column, into in (
        ("complaints", "filed_at", complaints),
        ("signals", "at", signals),
    ):
        for chunk, marks in _chunks(ids):
            for customer_id, at in store.query(
                f"SELECT customer_id, {column} FROM {table} WHERE customer_id IN ({marks})"
                f" AND {column} >= ?",
                (*chunk, since),
            ):
                into[customer_id].append(parse_ts(at))
    facts = []
    for customer_id, advisor, _ in rows:
        cause = cause_of(touches[customer_id], complaints[customer_id], signals[customer_id], lapse)
        facts.append(Fact("lost", advisor, LOST_DEPARTMENT, {"cause": cause}, 1, d))
    return facts
