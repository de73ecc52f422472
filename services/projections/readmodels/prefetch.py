"""Reading every row a batch of events will touch before applying it."""

from __future__ import annotations

from functools import cache

from events import (
    ComplaintFiled,
    ComplaintRiskFlagged,
    CustomersMerged,
    Event,
    FollowUpDue,
    RewardGranted,
    SurveyAnswered,
)
from services.projections.tables import COMPLAINTS, CUSTOMERS, FOLLOWUPS, REFERRALS, VEHICLES
from services.projections.transaction import Tx

_KEYED = {"complaint_id": COMPLAINTS, "follow_up_id": FOLLOWUPS, "referral_id": REFERRALS}
_REF_FIELDS = ("repair_order_id", "vin", "about")


def prefetch(tx: Tx, events: list[Event]) -> None:
    """Read every row a batch of events will touch in a few queries, before applying it
    (one `IN (…)` per table instead of a lookup per event); merge pointers are followed."""
    customers: list[tuple[str]] = []
    keys: dict[str, list[tuple[str, str]]] = {name: [] for name in _KEYED}
    refs: list[tuple[str, str]] = []
    vins: list[tuple[str, str]] = []  # the VINs named (readmodels/vehicles.py)
    for event in events:
        values = event.__dict__  # the fields' values, without pydantic's attribute lookup
        keyed, vin_named, ref_fields = _fields_of(type(event))
        if event.customer_id is not None:
            customers.append((event.customer_id,))
        if isinstance(event, CustomersMerged):
            customers += [(event.survivor_id,), *((m,) for m in event.merged_ids)]
        elif isinstance(event, RewardGranted):
            customers.append((event.referrer_customer_id,))
        if event.customer is not None and event.customer.vin:
            vins.append((event.dealership_id, event.customer.vin))
        if vin_named and isinstance(vin := values["vin"], str):
            vins.append((event.dealership_id, vin))
        for name in keyed:
            if isinstance(value := values[name], str):
                keys[name].append((event.dealership_id, value))
        if isinstance(event, FollowUpDue) and (retried := event.detail.get("retry_of")):
            keys["follow_up_id"].append((event.dealership_id, retried))  # its vehicle
        for name in ref_fields:
            if isinstance(value := values[name], str):
                refs.append((event.dealership_id, value))
    for name, table in _KEYED.items():
        tx.prefetch(table, keys[name])
    tx.prefetch(VEHICLES, vins)
    _prefetch_refs(tx, refs)
    seen: set[tuple[str]] = set()
    while customers:
        tx.prefetch(CUSTOMERS, customers)
        seen.update(customers)
        rows = (tx.get(CUSTOMERS, *key) for key in customers)
        customers = [
            (row["merged_into"],)
            for row in rows
            if row is not None and row["merged_into"] and (row["merged_into"],) not in seen
        ]


@cache
def _fields_of(model: type[Event]) -> tuple[tuple[str, ...], bool, tuple[str, ...]]:
    """The fields `prefetch` reads of an event type, found once per type (asking every
    event for a field its type lacks went through pydantic's `__getattr__` and its
    exception): its keyed fields, whether it has `vin`, the fields naming a ref (only
    for the events whose advisor comes from a ref)."""
    fields = model.model_fields
    keyed = tuple(name for name in _KEYED if name in fields)
    with_refs = issubclass(model, ComplaintFiled | ComplaintRiskFlagged | SurveyAnswered)
    refs = tuple(name for name in _REF_FIELDS if name in fields) if with_refs else ()
    return keyed, "vin" in fields, refs


def _prefetch_refs(tx: Tx, wanted: list[tuple[str, str]]) -> None:
    """`Context.ref`'s answers for a batch, read before any of its `set_ref`s."""
    memo: dict[tuple[str, str], tuple[str | None, str | None]] = tx.memo.setdefault("refs", {})
    by_dealership: dict[str, list[str]] = {}
    for dealership_id, ref in dict.fromkeys(wanted):
        if (dealership_id, ref) not in memo:
            by_dealership.setdefault(dealership_id, []).append(ref)
    for dealership_id, values in by_dealership.items():
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            for ref, advisor, department in tx.query(
                "SELECT ref, advisor_id, department FROM refs WHERE dealership_id = ?"
                f" AND ref IN ({', '.join('?' * len(chunk))})",
                (dealership_id, *chunk),
            ):
                memo[(dealership_id, ref)] = (advisor, department)
            for ref in chunk:
                memo.setdefault((dealership_id, ref), (None, None))
