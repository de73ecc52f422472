"""The facts the satisfaction figures are computed from (services/projections/metrics.py),
read for one dealership and period on (dealership, time) indexes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from services.projections.metrics import Fact
from services.projections.repurchase import ComplaintEnd, complaint_status, purchases_of
from services.projections.repurchase import status as window_status
from services.projections.store import ReadStore
from services.projections.tables import FOLLOWUP_TALLIES, Tally, parse_ts, ts

# The department of a customer's purchase (the never-complained baseline's attribution).
DEPARTMENT_OF_PURCHASE = {"vehicle": "sales", "service": "service", "small": "service"}


def load_facts(
    store: ReadStore,
    dealership_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    window: timedelta = timedelta(days=365),
    baseline: bool = False,
) -> list[Fact]:
    """The period's facts, read on (dealership, time) indexes; survey answers and
    follow-ups come as counts per group, mostly from their tallies (`followup_counts`).
    `window`: the repurchase observation window (services/projections/repurchase.py);
    `baseline`: also the never-complained customers (every paid purchase of the period)."""
    lo, hi = ts(start), ts(end)
    d = dealership_id
    facts: list[Fact] = []
    for kind, value, advisor, department, count in store.query(
        "SELECT kind, score, advisor_id, department, COUNT(*) FROM surveys"
        " WHERE dealership_id = ? AND answered_at >= ? AND answered_at < ? AND rejected = 0"
        " GROUP BY kind, score, advisor_id, department",
        (d, lo, hi),
    ):
        values = {"kind": kind, "score": int(value)}
        facts.append(Fact("survey", advisor, department, values, int(count), d))
    facts.extend(_complaints(store, d, lo, hi, now, window))
    for status, advisor, department, count in followup_counts(store, d, lo, hi):
        facts.append(
            Fact("followup", advisor, department, {"done": status == "done"}, int(count), d)
        )
    for verdict, advisor in store.query(
        "SELECT verdict, advisor_id FROM referrals WHERE dealership_id = ?"
        " AND claimed_at >= ? AND claimed_at < ?",
        (d, lo, hi),
    ):
        converted = verdict in ("verified", "rewarded")
        facts.append(Fact("referral", advisor, "sales", {"converted": converted}, 1, d))
    facts.extend(_silent(store, d, lo, hi, now, window))
    if baseline:
        facts.extend(_untroubled(store, d, lo, hi, now, window))
    return facts


def _complaints(
    store: ReadStore, d: str, lo: str, hi: str, now: datetime, window: timedelta
) -> list[Fact]:
    stamp = ts(now)
    rows = store.query(
        "SELECT c.customer_id, c.category, c.advisor_id, c.department, c.filed_at,"
        " c.apologised_at, c.resolved_at, c.within_sla, c.doc"
        " FROM complaints c WHERE c.dealership_id = ? AND c.filed_at >= ? AND c.filed_at < ?",
        (d, lo, hi),
    )
    bought = purchases_of(store, sorted({r[0] for r in rows}), lo)
    facts = []
    for row in rows:
        customer, category, advisor, department, filed, apologised, resolved, within = row[:8]
        doc = json.loads(row[8])
        filed_at = parse_ts(filed)
        hours_apology = (
            (parse_ts(apologised) - filed_at).total_seconds() / 3600 if apologised else None
        )
        hours_resolution = (
            (parse_ts(resolved) - filed_at).total_seconds() / 3600 if resolved else None
        )
        # Counted for the SLA share once settled: resolved, or its SLA ran out unresolved.
        due = doc["sla_due_at"]
        settled = bool(resolved) or (due is not None and stamp > due)
        values = {
            "category": category,
            "hours_to_apology": hours_apology,
            "hours_to_resolution": hours_resolution,
            # Opening hours are complaints' rule: as it recorded them, never computed.
            "business_hours_to_apology": doc.get("business_hours_to_apology"),
            "business_hours_to_resolution": (
                doc.get("business_hours_to_resolution") if resolved else None
            ),
            "sla_settled": settled,
            "within_sla": bool(within) if resolved else False,
            "repurchase": complaint_status(
                _complaint_end(filed_at, resolved, within, doc), bought[customer], now, window
            ),
            "step": doc["step"],
            "closed": doc["closed_at"] is not None,
        }
        facts.append(Fact("complaint", advisor, department, values, 1, d))
    return facts


def _silent(
    store: ReadStore, d: str, lo: str, hi: str, now: datetime, window: timedelta
) -> list[Fact]:
    """Dissatisfied but never complained: a low score or risk flag in the period, and no
    complaint at this dealership ever; first signal per customer."""
    first_signal: dict[str, tuple[str, str | None, str | None]] = {}
    for customer_id, at, advisor, department in store.query(
        "SELECT s.customer_id, s.at, s.advisor_id, s.department FROM signals s"
        " WHERE s.dealership_id = ? AND s.at >= ? AND s.at < ? AND NOT EXISTS (SELECT 1 FROM"
        " complaints c WHERE c.customer_id = s.customer_id AND c.dealership_id = s.dealership_id)"
        " ORDER BY s.at, s.event_id",
        (d, lo, hi),
    ):
        first_signal.setdefault(customer_id, (at, advisor, department))
    signalled = sorted(first_signal)
    ended = [c for c in signalled if parse_ts(first_signal[c][0]) + window <= now]
    bought = purchases_of(store, ended, lo)  # an open window is pending whatever was bought
    facts = []
    for customer_id in signalled:
        at, advisor, department = first_signal[customer_id]
        found = window_status(parse_ts(at), bought.get(customer_id, ()), now, window)
        facts.append(Fact("silent", advisor, department, {"repurchase": found}, 1, d))
    return facts


def _untroubled(
    store: ReadStore, d: str, lo: str, hi: str, now: datetime, window: timedelta
) -> list[Fact]:
    """Customers who never had a problem (the "fixed customer twice as loyal" baseline):
    a paid purchase in the period, no complaint and no dissatisfaction signal at this
    dealership; the window opens at their first paid purchase in the period, attributed to
    the customer's advisor and that purchase's department."""
    first: dict[str, tuple[str, str, str | None]] = {}
    for customer_id, at, kind, advisor in store.query(
        "SELECT p.customer_id, p.at, p.kind, c.advisor_id FROM purchases p"
        " JOIN customers c ON c.customer_id = p.customer_id"
        " WHERE p.dealership_id = ? AND p.at >= ? AND p.at < ? AND p.amount_cny > 0"
        " AND p.kind <> 'rework' AND NOT EXISTS (SELECT 1 FROM complaints x WHERE"
        " x.customer_id = p.customer_id AND x.dealership_id = p.dealership_id)"
        " AND NOT EXISTS (SELECT 1 FROM signals s WHERE s.customer_id = p.customer_id"
        " AND s.dealership_id = p.dealership_id) ORDER BY p.at, p.event_id",
        (d, lo, hi),
    ):
        first.setdefault(customer_id, (at, kind, advisor))
    customers = sorted(first)
    # Only an ended window needs the purchases (a window still open is pending whatever
    # was bought): a recent period reads none.
    ended = [c for c in customers if parse_ts(first[c][0]) + window <= now]
    bought = purchases_of(store, ended, lo)
    facts = []
    for customer_id in customers:
        at, kind, advisor = first[customer_id]
        found = window_status(parse_ts(at), bought.get(customer_id, ()), now, window)
        department = DEPARTMENT_OF_PURCHASE.get(kind)
        facts.append(Fact("untroubled", advisor, department, {"repurchase": found}, 1, d))
    return facts


def _complaint_end(
    filed_at: datetime, resolved: str | None, within: int | None, doc: dict[str, Any]
) -> ComplaintEnd:
    def at(value: str | None) -> datetime | None:
        return parse_ts(value) if value else None

    return ComplaintEnd(
        filed_at=filed_at,
        resolved_at=at(resolved),
        within_sla=bool(within) if resolved else None,
        closed_at=at(doc["closed_at"]),
        sla_due_at=at(doc["sla_due_at"]),
        repair_order_id=doc.get("repair_order_id"),
    )


def followup_counts(
    store: ReadStore, dealership_id: str, lo: str, hi: str
) -> list[tuple[str, str | None, str | None, int]]:
    """(status, advisor, department, count) of the follow-ups due in [lo, hi), skipped ones
    left out: whole UTC days summed from `followup_days`, whole hours of the edge days from
    `followup_hours`, and only the partial hours at either end counted row by row on the
    (dealership, due time) index (at 1M follow-ups due over a month, a day's rows cost
    ~25 ms to count, an hour's ~1 ms)."""
    return _tallied(store, dealership_id, lo, hi, FOLLOWUP_TALLIES[::-1])


# A bucket's first instant: the bucket ('2024-01-02' or '2024-01-02T08') completed with
# this template's tail.
BUCKET_START = "0001-01-01T00:00:00.000000Z"


def _tallied(
    store: ReadStore,
    dealership_id: str,
    lo: str,
    hi: str,
    tallies: tuple[Tally, ...],
) -> list[tuple[str, str | None, str | None, int]]:
    """The counts of [lo, hi): its whole buckets of the coarsest tally, the edges by the
    finer ones, what no tally covers by the rows."""
    if lo >= hi:
        return []
    if not tallies:
        return _counted_rows(store, dealership_id, lo, hi)
    (table, column, width, span), finer = tallies[0], tallies[1:]
    if lo[:width] == hi[:width]:  # inside one bucket (also spares the last one's successor)
        return _tallied(store, dealership_id, lo, hi, finer)

    def start(bucket: str) -> str:
        return bucket + BUCKET_START[width:]

    first = lo[:width]
    if lo != start(first):  # the first bucket that begins at or after `lo`
        first = ts(parse_ts(start(first)) + span)[:width]
    last = hi[:width]  # the buckets before this one end at or before `hi`
    if first >= last:
        return _tallied(store, dealership_id, lo, hi, finer)
    whole = [
        (status, advisor or None, department or None, int(n))
        for status, advisor, department, n in store.query(
            f"SELECT status, advisor_id, department, SUM(n) FROM {table}"
            f" WHERE dealership_id = ? AND {column} >= ? AND {column} < ?"
            " AND status <> 'skipped' GROUP BY status, advisor_id, department",
            (dealership_id, first, last),
        )
    ]
    return (
        _tallied(store, dealership_id, lo, start(first), finer)
        + whole
        + _tallied(store, dealership_id, start(last), hi, finer)
    )


def _counted_rows(
    store: ReadStore, dealership_id: str, lo: str, hi: str
) -> list[tuple[str, str | None, str | None, int]]:
    return [
        (status, advisor, department, int(n))
        for status, advisor, department, n in store.query(
            "SELECT status, advisor_id, department, COUNT(*) FROM followups"
            " WHERE dealership_id = ? AND due_at >= ? AND due_at < ? AND status <> 'skipped'"
            " GROUP BY status, advisor_id, department",
            (dealership_id, lo, hi),
        )
    ]
