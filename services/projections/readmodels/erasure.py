"""An erased customer (`CustomerErased`): every read model drops their personal data.

What stays is anonymous: the customer row as a tombstone (counts, class facts, dates; the
profile answers 404), the timeline rows without their summaries, complaints, follow-ups
and referrals without their texts, the reason of a split recorded under them (merges), surveys
and purchases as they were (the metrics keep their counts). Their identities go, so phone,
VIN, plate and name lookups find nothing.

Replaying the stream gives the same tables: after erasure the events before it are read
without their sealed fields (their key is gone), and this handler drops the same fields
from whatever they left.
"""

from __future__ import annotations

from typing import Any

from events import CustomerErased
from events.personal import SEALED_TEXT
from services.projections.readmodels.context import Context
from services.projections.tables import (
    COMPLAINTS,
    CUSTOMERS,
    FOLLOWUPS,
    MERGES,
    REFERRALS,
    DocTable,
    Row,
)

# What the read models' documents hold of the person (services/projections/readmodels),
# each set to what a replay without the key leaves once this handler ran.
CUSTOMER_FIELDS: dict[str, Any] = {
    "name": None,
    "phones": [],
    "external_ids": [],
    "flagged_phones": [],
    "birthday": None,
    "family": [],
}
COMPLAINT_FIELDS: dict[str, Any] = {"description": "", "answers": None}
FOLLOWUP_FIELDS: dict[str, Any] = {"note": None}


def on_erased(ctx: Context, event: CustomerErased, customer: Row) -> None:
    erased = list(dict.fromkeys([customer["customer_id"], *event.erased_ids]))
    for customer_id in erased:
        row = ctx.tx.get(CUSTOMERS, customer_id)
        if row is not None:
            _tombstone(row["doc"], event)
            ctx.tx.put(CUSTOMERS, row)
    marks = ", ".join("?" * len(erased))
    ctx.tx.execute(f"DELETE FROM identities WHERE customer_id IN ({marks})", erased)
    ctx.tx.execute(f"UPDATE timeline SET summary = '' WHERE customer_id IN ({marks})", erased)
    for row in _rows_of(ctx, COMPLAINTS, "complaint_id", erased):
        _reset(row["doc"], COMPLAINT_FIELDS)
        for remedy in row["doc"]["remedies"]:
            remedy.pop("note", None)
        ctx.tx.put(COMPLAINTS, row)
    for row in _rows_of(ctx, FOLLOWUPS, "follow_up_id", erased):
        _reset(row["doc"], FOLLOWUP_FIELDS)
        row["doc"]["detail"].pop("name", None)  # whom to greet (events/recorded.py Detail)
        ctx.tx.put(FOLLOWUPS, row)
    for row in _rows_of(ctx, REFERRALS, "referral_id", erased):
        for claim in row["doc"]["claims"]:  # the referee's claims name the referrer
            claim["referrer"].update(name="", phone="")
            claim["referrer_phone"] = None
        for answer in (row["doc"]["callback"] or {}).get("answers", []):
            answer.pop("text", None)
        ctx.tx.put(REFERRALS, row)
    _seal_split_reasons(ctx, event.dealership_id, erased)


def _seal_split_reasons(ctx: Context, dealership_id: str, erased: list[str]) -> None:
    """A merge's split shows the reason of its last `CustomersUnmerged`, sealed with the
    key of the customer it was recorded under: when that is one of them, the reason reads
    as a replay without the key reads it."""
    marks = ", ".join("?" * len(erased))
    theirs = {
        event_id
        for (event_id,) in ctx.tx.query(
            # their rows (as above: by `customer_id`, the timeline's index), then those
            # recorded under them; without the first, every erasure read the whole timeline
            f"SELECT event_id FROM timeline WHERE customer_id IN ({marks})"
            f" AND event_type = 'CustomersUnmerged' AND original_customer_id IN ({marks})",
            [*erased, *erased],
        )
    }
    if not theirs:
        return
    found = ctx.tx.query(
        "SELECT merge_event_id FROM merges WHERE dealership_id = ? AND split_at IS NOT NULL",
        (dealership_id,),
    )
    rows = [ctx.tx.get(MERGES, dealership_id, merge_id) for (merge_id,) in found]
    rows += [r for r in ctx.tx.cached(MERGES) if r["dealership_id"] == dealership_id]
    for row in {r["merge_event_id"]: r for r in rows if r is not None}.values():
        split = row["doc"]["split"]
        if split is not None and split.get("event_id") in theirs:
            split["reason"] = SEALED_TEXT
            ctx.tx.put(MERGES, row)


def _tombstone(doc: dict[str, Any], event: CustomerErased) -> None:
    _reset(doc, CUSTOMER_FIELDS)
    doc.pop("plates", None)
    for vehicle in doc["vehicles"].values():
        vehicle.pop("plate", None)
    doc["erased"] = {"event_id": str(event.event_id), "request_ref": event.request_ref}


def _reset(doc: dict[str, Any], fields: dict[str, Any]) -> None:
    for key, empty in fields.items():
        if key in doc:
            doc[key] = type(empty)() if empty is not None else None


def _rows_of(ctx: Context, table: DocTable, key: str, customer_ids: list[str]) -> list[Row]:
    """The rows of these customers: those stored, and those this transaction holds."""
    marks = ", ".join("?" * len(customer_ids))
    found = ctx.tx.query(
        f"SELECT dealership_id, {key} FROM {table.name} WHERE customer_id IN ({marks})",
        customer_ids,
    )
    rows = [ctx.tx.get(table, dealership, id_) for dealership, id_ in found]
    rows += [r for r in ctx.tx.cached(table) if r["customer_id"] in customer_ids]
    unique = {(r["dealership_id"], r[key]): r for r in rows if r is not None}
    return [unique[k] for k in sorted(unique)]
