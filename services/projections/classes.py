"""Customer classes, pure: gold / meteor / small_star / burden from the customer's history.

`classify(stats, last_touch_at, now, thresholds)` reads the counters the projector keeps
(spend, purchases, service visits, complaints, remedies paid) and the time since the last
touchpoint, and returns the class with the facts that decided it. The rules, in order
(first match wins; docs/projections.md explains them):

1. burden: many complaints with little spend, or remedies paid above a share of spend;
2. gold: high lifetime spend, still in touch, and loyal (regular service or repeat buys);
3. meteor: one big purchase, then gone (out of touch, or never back for service);
4. small_star: everyone else (small but steady, or too new to tell).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.projections.settings import ClassThresholds
from services.projections.tables import parse_ts

CustomerClass = Literal["gold", "meteor", "small_star", "burden"]


@dataclass(frozen=True)
class Classification:
    customer_class: CustomerClass
    because: list[str]
    facts: dict[str, Any]


def neglected_up_to(now: datetime, limits: ClassThresholds) -> datetime:
    """A customer whose last touchpoint is at or before this (or who has none) is neglected:
    more than `recency_days` whole days without one. The one line between in touch and
    gone: `classify` draws it for gold and meteor, the customer list's `neglected` filter
    (queries/customer_list.py) for its SQL."""
    return now - timedelta(days=limits.recency_days + 1)


def _days(since: str | None, now: datetime) -> int | None:
    if since is None:
        return None
    return max(0, (now - parse_ts(since)).days)


def classify(
    stats: dict[str, Any], last_touch_at: str | None, now: datetime, limits: ClassThresholds
) -> Classification:
    spend = float(stats["spend_cny"])
    complaints = int(stats["complaints"])
    remedies = float(stats["remedies_paid_cny"])
    services = int(stats["service_visits"])
    purchases = int(stats["vehicle_purchases"])
    idle_days = _days(last_touch_at, now)
    recent = last_touch_at is not None and parse_ts(last_touch_at) > neglected_up_to(now, limits)
    interval = None
    if services >= 2 and stats["first_service_at"] and stats["last_service_at"]:
        span = parse_ts(stats["last_service_at"]) - parse_ts(stats["first_service_at"])
        interval = round(span.days / (services - 1), 1)
    regular = interval is not None and interval <= limits.regular_service_days
    since_big = _days(stats["last_big_purchase_at"], now)
    facts: dict[str, Any] = {
        "spend_cny": round(spend, 2),
        "vehicle_purchases": purchases,
        "largest_purchase_cny": stats["largest_purchase_cny"],
        "service_visits": services,
        "mean_days_between_services": interval,
        "days_since_last_touchpoint": idle_days,
        "complaints": complaints,
        "remedies_paid_cny": round(remedies, 2),
    }

    # 1. burden: costs more to serve than they bring.
    if complaints >= limits.burden_min_complaints and spend < float(limits.burden_max_spend_cny):
        return Classification(
            "burden",
            [
                f"{complaints} complaints (burden from {limits.burden_min_complaints})",
                f"spend {spend:.2f} CNY below {limits.burden_max_spend_cny} CNY",
            ],
            facts,
        )
    if remedies > 0 and remedies > limits.burden_remedy_share * spend:
        return Classification(
            "burden",
            [
                f"remedies paid {remedies:.2f} CNY exceed {limits.burden_remedy_share:.0%} "
                f"of spend {spend:.2f} CNY"
            ],
            facts,
        )
    # 2. gold: high value and loyal.
    if spend >= float(limits.gold_min_spend_cny) and recent:
        loyal = []
        if regular:
            loyal.append(f"services every {interval} days on average (regular)")
        if purchases >= 2:
            loyal.append(f"{purchases} vehicle purchases")
        if since_big is not None and since_big <= limits.regular_service_days:
            loyal.append(f"big purchase {since_big} days ago, first service not yet due")
        if loyal:
            return Classification(
                "gold",
                [
                    f"spend {spend:.2f} CNY at least {limits.gold_min_spend_cny} CNY",
                    f"last touchpoint {idle_days} days ago (within {limits.recency_days})",
                    *loyal,
                ],
                facts,
            )
    # 3. meteor: one big purchase, then gone.
    if stats["largest_purchase_cny"] >= float(limits.big_purchase_cny):
        if not recent:
            gone = (
                f"no touchpoint for {idle_days} days (over {limits.recency_days})"
                if idle_days is not None
                else "no touchpoint recorded"
            )
            return Classification(
                "meteor",
                [f"a big purchase of {stats['largest_purchase_cny']:.2f} CNY", gone],
                facts,
            )
        if not regular and since_big is not None and since_big > limits.regular_service_days:
            return Classification(
                "meteor",
                [
                    f"a big purchase of {stats['largest_purchase_cny']:.2f} CNY "
                    f"{since_big} days ago",
                    f"no regular service since ({services} service visits)",
                ],
                facts,
            )
    # 4. small_star: the rest.
    because = [f"spend {spend:.2f} CNY below gold ({limits.gold_min_spend_cny} CNY)"]
    if spend >= float(limits.gold_min_spend_cny):
        because = ["high spend but not (yet) loyal or recent enough for gold"]
    if regular:
        because.append(f"services every {interval} days on average (steady)")
    elif recent:
        because.append(f"last touchpoint {idle_days} days ago (still in touch)")
    else:
        because.append("no big purchase and no regular service yet")
    return Classification("small_star", because, facts)
