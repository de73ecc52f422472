"""Merged customers: the survivor takes over the others' history (see docs/projections.md);
the merge list with its evidence. Splits are in `splits`."""

from __future__ import annotations

import copy

from events import CustomersMerged
from services.projections.readmodels.context import Context, add_once, money
from services.projections.tables import COMPLAINTS, CUSTOMERS, FOLLOWUPS, MERGES, REFERRALS, Row, ts


def on_merged(ctx: Context, event: CustomersMerged, survivor: Row) -> None:
    """The survivor takes over the merged customers' history; they keep a pointer to it."""
    ctx.tx.put(
        MERGES,
        {
            "dealership_id": event.dealership_id,
            "merge_event_id": str(event.event_id),
            "merged_at": ts(event.occurred_at),
            "survivor_id": event.survivor_id,
            "split_at": None,
            "doc": {
                "merged_ids": list(event.merged_ids),
                "because": event.because,
                "evidence": [e.model_dump(mode="json") for e in event.evidence],
                "cause_event_id": str(event.causation_id),
                "source": event.source,
                "split": None,
            },
        },
    )
    survivor_id = survivor["customer_id"]
    doc = survivor["doc"]
    merged = [ctx.canonical(m) for m in event.merged_ids]
    merged = [m for m in dict.fromkeys(merged) if m != survivor_id]
    for old_id in merged:
        old = ctx.tx.get(CUSTOMERS, old_id)
        if old is None:
            old = ctx.customer(old_id, event.dealership_id, event.occurred_at)
        _fold(survivor, old)
        old["merged_into"] = survivor_id
        ctx.tx.put(CUSTOMERS, old)
        add_once(doc["merged_ids"], old_id)
        for earlier in old["doc"]["merged_ids"]:
            add_once(doc["merged_ids"], earlier)
    if not merged:
        return
    # The raw updates below move the stored rows; the same move on the rows this
    # transaction holds keeps its cache true (and they are written back at commit).
    for doc_table in (COMPLAINTS, FOLLOWUPS, REFERRALS):
        for row in ctx.tx.cached(doc_table):
            if row["customer_id"] in merged:
                row["customer_id"] = survivor_id
    for row in ctx.tx.cached(CUSTOMERS):
        if row["merged_into"] in merged:
            row["merged_into"] = survivor_id
    marks = ", ".join("?" * len(merged))
    tables = (
        "timeline",
        "consents",
        "identities",
        "complaints",
        "followups",
        "referrals",
        "surveys",
    )
    for table in tables:
        ctx.tx.execute(
            f"UPDATE {table} SET customer_id = ? WHERE customer_id IN ({marks})",
            (survivor_id, *merged),
        )
    for table in ("purchases", "signals"):
        ctx.tx.execute(
            f"UPDATE {table} SET customer_id = ? WHERE customer_id IN ({marks})",
            (survivor_id, *merged),
        )
    # Customers merged into a merged one before now point straight at the survivor.
    ctx.tx.execute(
        f"UPDATE customers SET merged_into = ? WHERE merged_into IN ({marks})",
        (survivor_id, *merged),
    )


def _fold(survivor: Row, old: Row) -> None:
    """Add `old`'s profile to the survivor's. Copies, not the objects themselves: the
    merged row stays as it was at the merge (a split gives it back), and two rows sharing a
    vehicle within one transaction would make the tables depend on where a batch ends."""
    doc, other = survivor["doc"], copy.deepcopy(old["doc"])
    for key in ("phones", "external_ids", "flagged_phones"):
        for value in other[key]:
            add_once(doc[key], value)
    for plate in other.get("plates", []):
        add_once(doc.setdefault("plates", []), plate)
    for key in ("name", "birthday"):
        doc[key] = doc[key] or other[key]
    if not doc["family"]:
        doc["family"] = other["family"]
    for vin, vehicle in other["vehicles"].items():
        doc["vehicles"].setdefault(vin, vehicle)
    survivor["advisor_id"] = survivor["advisor_id"] or old["advisor_id"]
    if old["last_touch_at"] and (
        survivor["last_touch_at"] is None or old["last_touch_at"] > survivor["last_touch_at"]
    ):
        survivor["last_touch_at"] = old["last_touch_at"]
        doc["last_touchpoint"] = other.get("last_touchpoint")
    doc["first_seen_at"] = min(doc["first_seen_at"], other["first_seen_at"])
    a, b = doc["stats"], other["stats"]
    for key, value in b.items():
        if key in ("first_service_at", "first_paid_service_at"):
            a[key] = min(x for x in (a[key], value) if x) if (a[key] or value) else None
        elif key in ("last_service_at", "last_big_purchase_at", "last_paid_service_at"):
            a[key] = max(x for x in (a[key], value) if x) if (a[key] or value) else None
        elif key == "largest_purchase_cny":
            a[key] = max(a[key], value)
        elif isinstance(value, float):
            a[key] = money(a[key] + value)
        else:
            a[key] += value
