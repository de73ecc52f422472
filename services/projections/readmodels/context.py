"""What every read model's handlers share: the `Context` they get and small helpers.

The handlers read and write rows through `Tx` only (no clock, no I/O beyond the
transaction), so replaying the stream gives the same tables.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from events import Event, normalise_phone
from laoke.merges import survivor
from services.projections.settings import ProjectionSettings
from services.projections.tables import CUSTOMERS, Row, ts
from services.projections.transaction import Tx


def money(value: Decimal | float | int) -> float:
    return round(float(value), 2)


class Context:
    """What every handler gets: the transaction, the event's position, the settings, and
    the event's id as text (written several times per event: converted once)."""

    def __init__(self, tx: Tx, seq: int, settings: ProjectionSettings, event_id: str) -> None:
        self.tx = tx
        self.seq = seq
        self.settings = settings
        self.event_id = event_id

    def canonical(self, customer_id: str) -> str:
        row = self.tx.get(CUSTOMERS, customer_id)
        if row is None or not row["merged_into"]:
            return customer_id  # not merged, as most are: no walk to set up
        return survivor(customer_id, self._merged_into)

    def _merged_into(self, customer_id: str) -> str | None:
        row = self.tx.get(CUSTOMERS, customer_id)
        return row["merged_into"] if row is not None else None

    def customer(self, customer_id: str, dealership_id: str, at: datetime) -> Row:
        row = self.tx.get(CUSTOMERS, customer_id)
        if row is None:
            row = {
                "customer_id": customer_id,
                "dealership_id": dealership_id,
                "merged_into": None,
                "advisor_id": None,
                "last_touch_at": None,
                "doc": new_customer_doc(at),
            }
        self.tx.put(CUSTOMERS, row)
        return row

    def ref(self, dealership_id: str, ref: str | None) -> tuple[str | None, str | None]:
        """The advisor and department behind a repair order id or a VIN."""
        if not ref:
            return None, None
        refs: dict[tuple[str, str], tuple[str | None, str | None]] = self.tx.memo.setdefault(
            "refs", {}
        )
        if (dealership_id, ref) not in refs:
            found = self.tx.query(
                "SELECT advisor_id, department FROM refs WHERE dealership_id = ? AND ref = ?",
                (dealership_id, ref),
            )
            refs[(dealership_id, ref)] = (found[0][0], found[0][1]) if found else (None, None)
        return refs[(dealership_id, ref)]

    def set_ref(self, dealership_id: str, ref: str, advisor: str | None, department: str) -> None:
        self.tx.defer(
            "INSERT INTO refs (dealership_id, ref, advisor_id, department) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (dealership_id, ref) DO UPDATE SET advisor_id ="
            " COALESCE(excluded.advisor_id, refs.advisor_id), department = excluded.department",
            (dealership_id, ref, advisor, department),
        )
        # The same upsert on the cached value; without an advisor and without a cached one
        # the stored advisor is unknown here, so the next lookup asks the table.
        refs = self.tx.memo.setdefault("refs", {})
        key = (dealership_id, ref)
        if advisor is not None:
            refs[key] = (advisor, department)
        elif key in refs:
            refs[key] = (refs[key][0], department)

    def identity(
        self, dealership_id: str, kind: str, value: str, customer_id: str, event_id: str
    ) -> None:
        """`value` names `customer_id`; `event_id`: the event that gave it to them (kept
        while they hold it), so a split gives back what a re-attributed event brought."""
        self.tx.defer(
            "INSERT INTO identities (dealership_id, kind, value, customer_id, event_id) VALUES"
            " (?, ?, ?, ?, ?) ON CONFLICT (dealership_id, kind, value) DO UPDATE SET event_id ="
            " CASE WHEN identities.customer_id = excluded.customer_id THEN identities.event_id"
            " ELSE excluded.event_id END, customer_id = excluded.customer_id",
            (dealership_id, kind, value, customer_id, event_id),
        )

    def signal(
        self, event: Event, customer: Row, kind: str, advisor: str | None, dept: str
    ) -> None:
        """A sign of dissatisfaction (low score, risk flag) for the 'never complained' metric."""
        self.tx.defer(
            "INSERT INTO signals (event_id, dealership_id, customer_id, kind, at, advisor_id,"
            " department) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
            (
                self.event_id,
                event.dealership_id,
                customer["customer_id"],
                kind,
                ts(event.occurred_at),
                advisor or customer["advisor_id"],
                dept,
            ),
        )


def new_customer_doc(at: datetime) -> dict[str, Any]:
    return {
        "name": None,
        "phones": [],
        "external_ids": [],
        "birthday": None,
        "family": [],
        "consent": {"marketing": None, "channels": [], "opted_out": [], "opted_out_all": False},
        "vehicles": {},
        "flagged_phones": [],
        "first_seen_at": ts(at),
        "merged_ids": [],
        "stats": new_stats(),
    }


def new_stats() -> dict[str, Any]:
    """A customer's counters before any event (readmodels/tallies.py counts them)."""
    return {
        "spend_cny": 0.0,
        "vehicle_purchases": 0,
        "largest_purchase_cny": 0.0,
        "last_big_purchase_at": None,
        "small_purchases": 0,
        "visits": 0,
        "service_visits": 0,
        "first_service_at": None,
        "last_service_at": None,
        "reworks": 0,
        "complaints": 0,
        "open_complaints": 0,
        "remedies_paid_cny": 0.0,
        # By line, for value as margin (classes.py): vehicles, service, parts.
        "vehicle_spend_cny": 0.0,
        "service_spend_cny": 0.0,
        "parts_spend_cny": 0.0,
        # Paid service visits (reworks and zero-amount work left out): loyalty.
        "paid_service_visits": 0,
        "first_paid_service_at": None,
        "last_paid_service_at": None,
        # Zero-amount visits that are not reworks: warranty or goodwill.
        "free_service_visits": 0,
        "risk_flags": 0,
        "scope_breaches": 0,
        "referrals_rewarded": 0,
    }


def add_once(items: list[Any], value: Any) -> None:
    if value not in items:
        items.append(value)


def as_phone(raw: str) -> str | None:
    """`normalise_phone`, or None for what is not a phone."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return None
