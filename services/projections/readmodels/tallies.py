"""A customer's counters and last touchpoint: what a purchase or a touchpoint adds (the one
rule the handlers apply), and the same counted again from the rows a customer holds.

The recount is for a split (splits.py): the events re-attributed to the restored customer
were folded into the survivor's counters while merged, and a counter cannot take one out.
Both profiles are counted again from the rows each holds after the move (purchases,
timeline, complaints, signals, and the referrals whose reward credits them or a customer
merged into them), with the same rules, so each is what it would be had the events always
been filed under their own person.
"""

from __future__ import annotations

from typing import Any

from events import CustomerVisited
from services.projections.readmodels.context import Context, money, new_stats
from services.projections.tables import COMPLAINTS, Row

# The spend counter of each `purchases.kind` (value as margin by line, classes.py).
LINE_OF = {
    "vehicle": "vehicle_spend_cny",
    "service": "service_spend_cny",
    "rework": "service_spend_cny",
    "small": "parts_spend_cny",
}
SIGNAL_COUNTERS = {"risk_flag": "risk_flags", "scope_breached": "scope_breaches"}


def count_purchase(stats: dict[str, Any], kind: str, amount: float, at: str, big: float) -> None:
    """What one `purchases` row adds (`big`: the big-purchase threshold, CNY). In any order
    the same: dates are the earliest or latest, never the last one counted."""
    amount = money(amount)
    stats["spend_cny"] = money(stats["spend_cny"] + amount)
    stats[LINE_OF[kind]] = money(stats[LINE_OF[kind]] + amount)
    if kind == "vehicle":
        stats["vehicle_purchases"] += 1
        stats["largest_purchase_cny"] = max(stats["largest_purchase_cny"], amount)
        if amount >= big:
            stats["last_big_purchase_at"] = _latest(stats["last_big_purchase_at"], at)
    elif kind == "small":
        stats["small_purchases"] += 1
    else:
        stats["service_visits"] += 1
        stats["first_service_at"] = _earliest(stats["first_service_at"], at)
        stats["last_service_at"] = _latest(stats["last_service_at"], at)
        if kind == "rework":
            stats["reworks"] += 1
        elif amount <= 0:
            stats["free_service_visits"] += 1
        else:
            stats["paid_service_visits"] += 1
            stats["first_paid_service_at"] = _earliest(stats["first_paid_service_at"], at)
            stats["last_paid_service_at"] = _latest(stats["last_paid_service_at"], at)


def touch(customer: Row, event_id: str, event_type: str, at: str, source: str) -> None:
    """A touchpoint moves the last touchpoint when it is later (the first of equals stays)."""
    if customer["last_touch_at"] is None or at > customer["last_touch_at"]:
        customer["last_touch_at"] = at
        customer["doc"]["last_touchpoint"] = {
            "event_id": event_id,
            "event_type": event_type,
            "at": at,
            "source": source,
        }


def recount(ctx: Context, customer: Row) -> None:
    """The counters and last touchpoint counted again from the rows `customer` holds (the
    transaction flushed: the queries read the stored rows)."""
    tx, customer_id = ctx.tx, customer["customer_id"]
    stats = customer["doc"]["stats"]
    stats.clear()
    stats.update(new_stats())
    big = float(ctx.settings.classes.big_purchase_cny)
    for kind, amount, at in tx.query(
        "SELECT kind, amount_cny, at FROM purchases WHERE customer_id = ?", (customer_id,)
    ):
        count_purchase(stats, kind, float(amount), at, big)
    ((visits,),) = tx.query(
        "SELECT COUNT(*) FROM timeline WHERE customer_id = ? AND event_type = ?",
        (customer_id, CustomerVisited.type_name()),
    )
    stats["visits"] = int(visits)
    for kind, n in tx.query(
        "SELECT kind, COUNT(*) FROM signals WHERE customer_id = ? GROUP BY kind", (customer_id,)
    ):
        if kind in SIGNAL_COUNTERS:
            stats[SIGNAL_COUNTERS[kind]] = int(n)
    found = tx.query(
        "SELECT complaint_id FROM complaints WHERE dealership_id = ? AND customer_id = ?",
        (customer["dealership_id"], customer_id),
    )
    for (complaint_id,) in found:
        row = tx.get(COMPLAINTS, customer["dealership_id"], complaint_id)
        if row is None:
            continue
        stats["complaints"] += 1
        stats["open_complaints"] += 1 if row["resolved_at"] is None else 0
        paid = row["doc"].get("remedy_paid_cny", 0.0)  # (complaints.py `on_resolved`)
        stats["remedies_paid_cny"] = money(stats["remedies_paid_cny"] + paid)
    credited = [customer_id, *customer["doc"]["merged_ids"]]  # (referrals.py `on_reward`)
    ((rewarded,),) = tx.query(
        "SELECT COUNT(*) FROM referrals WHERE dealership_id = ? AND referrer_id IN"
        f" ({', '.join('?' * len(credited))})",
        (customer["dealership_id"], *credited),
    )
    stats["referrals_rewarded"] = int(rewarded)
    customer["last_touch_at"] = None
    customer["doc"].pop("last_touchpoint", None)
    for event_id, event_type, at, source in tx.query(
        "SELECT event_id, event_type, occurred_at, source FROM timeline"
        " WHERE customer_id = ? AND touchpoint = 1 ORDER BY occurred_at DESC, seq LIMIT 1",
        (customer_id,),
    ):
        touch(customer, event_id, event_type, at, source)


def _earliest(current: str | None, at: str) -> str:
    return min(current, at) if current else at


def _latest(current: str | None, at: str) -> str:
    return max(current, at) if current else at
