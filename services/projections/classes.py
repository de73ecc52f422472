"""Customer classes, pure: gold / meteor / small_star / burden from the customer's history.

`classify(doc, last_touch_at, now, thresholds)` reads the counters the projector keeps in
the customer document (spend by line, paid and free service visits, reworks, complaints,
remedies paid, first seen) and the time since the last touchpoint, and returns the class
with the facts that decided it. Value is margin (spend by line × the line's margin); cost
is what serving the customer cost: remedies paid, reworks, free (goodwill) visits and
complaints handled. The rules, in order (first match wins; docs/projections.md):

1. burden: costs more to serve than they bring (cost above value), or many complaints
   with little value;
2. gold: a customer for a year at least, high value, cheap to serve, still in touch, and
   loyal (regular paid service or repeat car purchases);
3. meteor: one big purchase, then gone (out of touch, or never back for paid service);
4. small_star: everyone else (small but steady, or too new to tell).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.projections.settings import ClassThresholds
from services.projections.tables import CLASS_COLUMNS, parse_ts, ts

CustomerClass = Literal["gold", "meteor", "small_star", "burden"]
CLASSES: tuple[CustomerClass, ...] = ("gold", "meteor", "small_star", "burden")


@dataclass(frozen=True)
class Classification:
    customer_class: CustomerClass
    because: list[str]
    facts: dict[str, Any]

    @property
    def value_cny(self) -> float:
        return float(self.facts["value_cny"])

    @property
    def cost_cny(self) -> float:
        return float(self.facts["cost_cny"])


def neglected_up_to(now: datetime, limits: ClassThresholds) -> datetime:
    """A customer whose last touchpoint is at or before this (or who has none) is neglected:
    more than `recency_days` whole days without one. The one line between in touch and
    gone: `classify` draws it for gold and meteor, the customer list's `neglected` filter
    (queries/customer_list.py) for its SQL."""
    return now - timedelta(days=limits.recency_days + 1)


def value_of(stats: dict[str, Any], limits: ClassThresholds) -> dict[str, float]:
    """Margin by line and in all (CNY)."""
    lines = {
        "vehicles": float(stats["vehicle_spend_cny"]) * limits.vehicle_margin,
        "service": float(stats["service_spend_cny"]) * limits.service_margin,
        "parts": float(stats["parts_spend_cny"]) * limits.parts_margin,
    }
    return {k: round(v, 2) for k, v in lines.items()} | {"total": round(sum(lines.values()), 2)}


def cost_of(stats: dict[str, Any], limits: ClassThresholds) -> dict[str, float]:
    """Cost to serve by cause and in all (CNY)."""
    causes = {
        "remedies": float(stats["remedies_paid_cny"]),
        "reworks": int(stats["reworks"]) * float(limits.rework_cost_cny),
        "goodwill": int(stats["free_service_visits"]) * float(limits.free_visit_cost_cny),
        "complaints": int(stats["complaints"]) * float(limits.complaint_cost_cny),
    }
    return {k: round(v, 2) for k, v in causes.items()} | {"total": round(sum(causes.values()), 2)}


def totals(found: Iterable[Classification]) -> dict[CustomerClass, tuple[int, float, float]]:
    """(customers, value, cost) per class, every class present."""
    sums: dict[CustomerClass, tuple[int, float, float]] = {c: (0, 0.0, 0.0) for c in CLASSES}
    for item in found:
        n, value, cost = sums[item.customer_class]
        sums[item.customer_class] = (n + 1, value + item.value_cny, cost + item.cost_cny)
    return {c: (n, round(v, 2), round(k, 2)) for c, (n, v, k) in sums.items()}


def days_since(since: str | None, now: datetime) -> int | None:
    """Whole days from a stored time to `now` (0 for a later one; None when unknown)."""
    if since is None:
        return None
    return max(0, (now - parse_ts(since)).days)


def _regular_interval(stats: dict[str, Any]) -> float | None:
    """Mean days between paid services (reworks and free visits are not loyalty)."""
    paid_visits = int(stats["paid_service_visits"])
    if paid_visits < 2:
        return None
    span = parse_ts(stats["last_paid_service_at"]) - parse_ts(stats["first_paid_service_at"])
    return round(span.days / (paid_visits - 1), 1)


@dataclass(frozen=True)
class Standing:
    """What a customer's class depends on that only events change, computed at every write
    of the customer (stored as columns: tables.py, for the class counts and the customer
    list's filter). The class at a moment is `class_at(standing, last touchpoint, now)`:
    only tenure, recency and the time since a big purchase move with the clock.

    `gold_from`: the stored time from which a customer gold on value, cost, complaints and
    loyalty has the tenure for gold ('' always, None never); `meteor_from`: from when a big
    purchase without regular paid service since makes a meteor (None: regular, or none)."""

    burden: bool
    gold_from: str | None
    big: bool
    meteor_from: str | None
    value_cny: float
    cost_cny: float


def standing(doc: dict[str, Any], limits: ClassThresholds) -> Standing:
    stats = doc["stats"]
    worth, costs = value_of(stats, limits)["total"], cost_of(stats, limits)["total"]
    complaints = int(stats["complaints"])
    burden = (
        costs >= float(limits.burden_min_cost_cny) and costs > limits.burden_cost_share * worth
    ) or (complaints >= limits.burden_min_complaints and worth < float(limits.burden_max_value_cny))
    interval = _regular_interval(stats)
    regular = interval is not None and interval <= limits.regular_service_days
    loyal = regular or int(stats["vehicle_purchases"]) >= 2
    gold_from = None
    if (
        worth >= float(limits.gold_min_value_cny)
        and loyal
        and costs <= limits.gold_max_cost_share * worth
        and complaints < limits.burden_min_complaints
    ):
        gold_from = _after(doc["first_seen_at"], limits.gold_min_tenure_days)
    big_at = stats["last_big_purchase_at"]
    # since_big > regular_service_days whole days: from regular_service_days + 1 days on
    meteor_from = (
        None if regular or big_at is None else _after(big_at, limits.regular_service_days + 1)
    )
    return Standing(
        burden=burden,
        gold_from=gold_from,
        big=stats["largest_purchase_cny"] >= float(limits.big_purchase_cny),
        meteor_from=meteor_from,
        value_cny=worth,
        cost_cny=costs,
    )


def class_columns(doc: dict[str, Any], limits: ClassThresholds) -> dict[str, Any]:
    """A customer's `Standing` as the columns hold it."""
    s = standing(doc, limits)
    values = (int(s.burden), s.gold_from, int(s.big), s.meteor_from, s.value_cny, s.cost_cny)
    return dict(zip(CLASS_COLUMNS, values, strict=True))


def _after(since: str | None, days: int) -> str | None:
    """The stored time `days` whole days after `since` ('' when any time is: `days_since` counts
    nothing below 0; None when `since` is unknown)."""
    if days <= 0:
        return ""
    return ts(parse_ts(since) + timedelta(days=days)) if since is not None else None


def class_at(
    s: Standing, last_touch_at: str | None, now: datetime, limits: ClassThresholds
) -> CustomerClass:
    """The class as of `now` (first match wins; the module's docstring). `CLASS_SQL` is the
    same in SQL, tested equal (tests/projections/test_classes_rules.py)."""
    stamp, gone = ts(now), ts(neglected_up_to(now, limits))
    recent = last_touch_at is not None and last_touch_at > gone
    if s.burden:
        return "burden"
    if s.gold_from is not None and s.gold_from <= stamp and recent:
        return "gold"
    if s.big and (not recent or (s.meteor_from is not None and s.meteor_from <= stamp)):
        return "meteor"
    return "small_star"


# `class_at` over the customers table's columns; parameters `class_params(now, limits)`.
CLASS_SQL = (
    "CASE WHEN class_burden = 1 THEN 'burden'"
    " WHEN class_gold_from <= ? AND last_touch_at > ? THEN 'gold'"
    " WHEN class_big = 1 AND (last_touch_at IS NULL OR last_touch_at <= ?"
    " OR class_meteor_from <= ?) THEN 'meteor' ELSE 'small_star' END"
)


# What a customer of each class must be whatever the time (`class_at`): the rows a class
# is looked for in, each class but the common one from its partial index (tables.py).
CANDIDATES_SQL: dict[CustomerClass, str] = {
    "burden": "class_burden = 1",
    "gold": "class_burden = 0 AND class_gold_from IS NOT NULL",
    "meteor": "class_burden = 0 AND class_big = 1",
    "small_star": "class_burden = 0",
}


def class_params(now: datetime, limits: ClassThresholds) -> tuple[str, str, str, str]:
    stamp, gone = ts(now), ts(neglected_up_to(now, limits))
    return stamp, gone, gone, stamp


def classify(
    doc: dict[str, Any], last_touch_at: str | None, now: datetime, limits: ClassThresholds
) -> Classification:
    """The class of the customer whose document is `doc`, as of `now`, with its reasons."""
    stats = doc["stats"]
    complaints = int(stats["complaints"])
    purchases = int(stats["vehicle_purchases"])
    paid_visits = int(stats["paid_service_visits"])
    value, cost = value_of(stats, limits), cost_of(stats, limits)
    worth, costs = value["total"], cost["total"]
    idle_days = days_since(last_touch_at, now)
    tenure = days_since(doc["first_seen_at"], now) or 0
    recent = last_touch_at is not None and parse_ts(last_touch_at) > neglected_up_to(now, limits)
    interval = _regular_interval(stats)
    regular = interval is not None and interval <= limits.regular_service_days
    since_big = days_since(stats["last_big_purchase_at"], now)
    found = class_at(standing(doc, limits), last_touch_at, now, limits)
    facts: dict[str, Any] = {
        "value_cny": worth,
        "value_by_line_cny": {k: v for k, v in value.items() if k != "total"},
        "cost_cny": costs,
        "cost_by_cause_cny": {k: v for k, v in cost.items() if k != "total"},
        "spend_cny": round(float(stats["spend_cny"]), 2),
        "customer_for_days": tenure,
        "vehicle_purchases": purchases,
        "largest_purchase_cny": stats["largest_purchase_cny"],
        "paid_service_visits": paid_visits,
        "mean_days_between_paid_services": interval,
        "reworks": int(stats["reworks"]),
        "days_since_last_touchpoint": idle_days,
        "complaints": complaints,
        "remedies_paid_cny": round(float(stats["remedies_paid_cny"]), 2),
    }

    # 1. burden: costs more to serve than they bring.
    if found == "burden":
        if costs >= float(limits.burden_min_cost_cny) and costs > limits.burden_cost_share * worth:
            because = [
                f"cost to serve {costs:.2f} CNY above {limits.burden_cost_share:.0%} of the"
                f" value {worth:.2f} CNY (margin)",
                _largest_cost(cost),
            ]
        else:
            because = [
                f"{complaints} complaints (burden from {limits.burden_min_complaints})",
                f"value {worth:.2f} CNY (margin) below {limits.burden_max_value_cny} CNY",
            ]
        return Classification("burden", because, facts)
    # 2. gold: a year at least, high value, cheap to serve, recent and loyal.
    loyal = []
    if regular:
        loyal.append(f"paid service every {interval} days on average (regular)")
    if purchases >= 2:
        loyal.append(f"{purchases} vehicle purchases")
    if found == "gold":
        return Classification(
            "gold",
            [
                f"value {worth:.2f} CNY (margin) at least {limits.gold_min_value_cny} CNY",
                f"a customer for {tenure} days",
                f"cost to serve {costs:.2f} CNY",
                f"last touchpoint {idle_days} days ago (within {limits.recency_days})",
                *loyal,
            ],
            facts,
        )
    # 3. meteor: one big purchase, then gone.
    if found == "meteor":
        big = f"a big purchase of {stats['largest_purchase_cny']:.2f} CNY"
        if not recent:
            gone = (
                f"no touchpoint for {idle_days} days (over {limits.recency_days})"
                if idle_days is not None
                else "no touchpoint recorded"
            )
            return Classification("meteor", [big, gone], facts)
        return Classification(
            "meteor",
            [
                f"{big} {since_big} days ago",
                f"no regular paid service since ({paid_visits} paid service visits)",
            ],
            facts,
        )
    # 4. small_star: the rest.
    held_back = []
    if tenure < limits.gold_min_tenure_days:
        held_back.append(f"a customer for {tenure} days (gold from {limits.gold_min_tenure_days})")
    if costs > limits.gold_max_cost_share * worth:
        held_back.append(
            f"cost to serve {costs:.2f} CNY above {limits.gold_max_cost_share:.0%} of the value"
        )
    if complaints >= limits.burden_min_complaints:
        held_back.append(f"{complaints} complaints")
    because = [f"value {worth:.2f} CNY (margin) below gold ({limits.gold_min_value_cny} CNY)"]
    if worth >= float(limits.gold_min_value_cny):
        because = ["high value but not gold: " + ("; ".join(held_back) or "not loyal or recent")]
    elif held_back:
        because.extend(held_back)
    if regular:
        because.append(f"paid service every {interval} days on average (steady)")
    elif recent:
        because.append(f"last touchpoint {idle_days} days ago (still in touch)")
    else:
        because.append("no big purchase and no regular service yet")
    return Classification("small_star", because, facts)


def _largest_cost(cost: dict[str, float]) -> str:
    cause, amount = max(((k, v) for k, v in cost.items() if k != "total"), key=lambda kv: kv[1])
    return f"mostly {cause}: {amount:.2f} CNY"
