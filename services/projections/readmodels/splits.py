"""A merge undone (`CustomersUnmerged`): the restored customer gets its own history back.

What was the restored customer's goes back to it: the timeline rows recorded for it (and
for customers merged into it before) and those intake re-attributed to it; the purchases,
surveys, signals and consent changes of those events; the complaints, follow-ups and
referrals those events opened; its phones, external ids and VINs. Its own profile was kept
as it was at the merge (merges.py leaves the merged row alone); the survivor's profile
gives back the restored profile's identities and vehicles. Then both profiles' counters and
last touchpoints are counted again from the rows each holds (tallies.py), so what the
re-attributed events added while merged is the restored customer's, and the stored class
columns follow (computed at the write).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from events import CustomerSplitRequested, CustomersUnmerged
from laoke.merges import follows_restored
from services.projections.readmodels import tallies
from services.projections.readmodels.context import Context, add_once
from services.projections.tables import (
    COMPLAINTS,
    CUSTOMERS,
    FOLLOWUPS,
    MERGES,
    REFERRALS,
    VEHICLES,
    Row,
    ts,
)

CHUNK = 500


def on_split_requested(ctx: Context, event: CustomerSplitRequested, customer: Row) -> None:
    """Timeline only: intake's `CustomersUnmerged` that follows it does the split."""
    del ctx, event, customer


def on_unmerged(ctx: Context, event: CustomersUnmerged, survivor: Row) -> None:
    tx = ctx.tx
    merge = tx.get(MERGES, event.dealership_id, str(event.merge_event_id))
    if merge is not None:
        merge["split_at"] = ts(event.occurred_at)
        split = merge["doc"]["split"] or {"restored_ids": []}
        split.update(at=ts(event.occurred_at), requested_by=event.requested_by)
        split.update(reason=event.reason, event_id=str(event.event_id))
        split["restored_ids"] = [*split["restored_ids"], event.restored_id]
        merge["doc"]["split"] = split
        tx.put(MERGES, merge)
    restored = tx.get(CUSTOMERS, event.restored_id)
    survivor_id = survivor["customer_id"]
    if restored is None or restored["merged_into"] != survivor_id:
        return  # not merged here (a replay of a split seen before)
    tx.flush()  # the raw SQL below reads and moves rows this transaction may hold
    family = [event.restored_id] + [
        m
        for m in restored["doc"]["merged_ids"]
        if (row := tx.get(CUSTOMERS, m)) is not None and row["merged_into"] == survivor_id
    ]
    restored["merged_into"] = None
    tx.put(CUSTOMERS, restored)
    for member in family[1:]:
        row = tx.get(CUSTOMERS, member)
        assert row is not None
        row["merged_into"] = event.restored_id
        tx.put(CUSTOMERS, row)
    survivor["doc"]["merged_ids"] = [m for m in survivor["doc"]["merged_ids"] if m not in family]
    brought = _brought(ctx, event, survivor_id)
    _unfold(survivor, [tx.get(CUSTOMERS, m) for m in family])
    _hand_over(ctx, survivor, restored, brought)
    tx.put(CUSTOMERS, survivor)  # (written once already: flushed above)
    moved = (event.restored_id, survivor_id)
    _in_chunks(
        ctx,
        "UPDATE timeline SET customer_id = ? WHERE customer_id = ? AND original_customer_id IN",
        moved,
        family,
    )
    _in_chunks(
        ctx,
        "UPDATE timeline SET customer_id = ? WHERE customer_id = ? AND event_id IN",
        moved,
        [str(e) for e in event.reattributed_event_ids],
    )
    theirs = {
        r[0] for r in tx.query("SELECT event_id FROM timeline WHERE customer_id = ?", (moved[0],))
    }
    for table in ("purchases", "surveys", "signals", "consents"):
        _in_chunks(
            ctx,
            f"UPDATE {table} SET customer_id = ? WHERE customer_id = ? AND event_id IN",
            moved,
            sorted(theirs),
        )
    docs = [row["doc"] for m in family if (row := tx.get(CUSTOMERS, m)) is not None]
    _move_docs(ctx, event, survivor_id, theirs, {vin for doc in docs for vin in doc["vehicles"]})
    _move_identities(ctx, event, survivor_id, family, brought)
    phones = {phone for doc in docs for phone in doc["phones"]}
    _move_rewards(ctx, event, survivor_id, phones)
    tx.flush()  # the complaints moved above, for the recount's queries
    for customer in (survivor, restored):
        tallies.recount(ctx, customer)
        tx.put(CUSTOMERS, customer)


def _in_chunks(ctx: Context, sql: str, params: Sequence[Any], values: list[str]) -> None:
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        ctx.tx.execute(f"{sql} ({', '.join('?' * len(chunk))})", (*params, *chunk))


def _move_docs(
    ctx: Context, event: CustomersUnmerged, survivor_id: str, theirs: set[str], cars: set[str]
) -> None:
    """Complaints and follow-ups opened by the restored customer's events, and referrals
    claimed by them, are the restored customer's again; so are the follow-ups planned
    because of those events, those planned from the calendar for its cars (`cars`), and
    their retries (laoke/merges.py `follows_restored`, as outreach's plans)."""
    for table, key in (
        (COMPLAINTS, "complaint_id"),
        (FOLLOWUPS, "follow_up_id"),
        (REFERRALS, "referral_id"),
    ):
        found = ctx.tx.query(
            f"SELECT {key} FROM {table.name} WHERE dealership_id = ? AND customer_id = ?",
            (event.dealership_id, survivor_id),
        )
        rows = [r for (i,) in found if (r := ctx.tx.get(table, event.dealership_id, i))]
        moved: set[str] = set()
        for row in rows:
            doc = row["doc"]
            origins = (
                [c["event_id"] for c in doc["claims"]]
                if table is REFERRALS
                else [doc.get("origin_event_id")]
            )
            planned = table is FOLLOWUPS and follows_restored(
                doc.get("origin"), row["reason"], doc.get("vin"), theirs, cars
            )
            if (origins and all(o in theirs for o in origins)) or planned:
                moved.add(row[key])
        if table is FOLLOWUPS:  # a retry goes with the contact it retries
            moved |= {r[key] for r in rows if (r["doc"]["detail"] or {}).get("retry_of") in moved}
        for row in rows:
            if row[key] in moved:
                row["customer_id"] = event.restored_id
                ctx.tx.put(table, row)


def _move_rewards(
    ctx: Context, event: CustomersUnmerged, survivor_id: str, phones: set[str]
) -> None:
    """A reward credited to the survivor (granted while merged) for a referral whose
    referrer is one of the restored customer's phones credits the restored customer."""
    found = ctx.tx.query(
        "SELECT referral_id FROM referrals WHERE dealership_id = ? AND referrer_id = ?",
        (event.dealership_id, survivor_id),
    )
    for (referral_id,) in found:
        row = ctx.tx.get(REFERRALS, event.dealership_id, referral_id)
        if row is None or not row["doc"]["claims"] or row["doc"]["reward"] is None:
            continue
        if row["doc"]["claims"][0]["referrer_phone"] in phones:  # the first claim stands
            row["doc"]["reward"]["referrer_customer_id"] = event.restored_id
            ctx.tx.put(REFERRALS, row)


def _move_identities(
    ctx: Context,
    event: CustomersUnmerged,
    survivor_id: str,
    family: list[str],
    brought: dict[str, list[str]],
) -> None:
    """The restored profiles' phones, external ids and VINs, and those the re-attributed
    events brought, name the restored customer again."""
    for member in family:
        row = ctx.tx.get(CUSTOMERS, member)
        if row is None:
            continue
        doc = row["doc"]
        for kind, values in (
            ("phone", doc["phones"]),
            ("external_id", doc["external_ids"]),
            ("vin", list(doc["vehicles"])),
        ):
            _in_chunks(
                ctx,
                "UPDATE identities SET customer_id = ? WHERE dealership_id = ? AND customer_id = ?"
                f" AND kind = '{kind}' AND value IN",
                (event.restored_id, event.dealership_id, survivor_id),
                [*values, *brought[kind]],
            )


def _brought(ctx: Context, event: CustomersUnmerged, survivor_id: str) -> dict[str, list[str]]:
    """The phones, external ids and VINs the re-attributed events gave the survivor while
    merged (the event that gave each is on its `identities` row): by kind. A value the
    survivor held before is not among them (its row names the survivor's own event)."""
    found: dict[str, list[str]] = {"phone": [], "external_id": [], "vin": []}
    reattributed = sorted(str(e) for e in event.reattributed_event_ids)
    for start in range(0, len(reattributed), CHUNK):
        chunk = reattributed[start : start + CHUNK]
        for kind, value in ctx.tx.query(
            "SELECT kind, value FROM identities WHERE dealership_id = ? AND customer_id = ?"
            f" AND event_id IN ({', '.join('?' * len(chunk))})",
            (event.dealership_id, survivor_id, *chunk),
        ):
            found[kind].append(value)
    return {kind: sorted(values) for kind, values in found.items()}


def _hand_over(ctx: Context, survivor: Row, restored: Row, brought: dict[str, list[str]]) -> None:
    """What the re-attributed events brought goes from the survivor's profile to the
    restored one's: phones, external ids, and cars (their entry as recorded, and the
    `vehicles` row's current owner)."""
    doc, own = survivor["doc"], restored["doc"]
    for key, kind in (("phones", "phone"), ("external_ids", "external_id")):
        for value in brought[kind]:
            if value in doc[key]:
                doc[key].remove(value)
            add_once(own[key], value)
    for vin in brought["vin"]:
        if vin in doc["vehicles"]:
            own["vehicles"][vin] = doc["vehicles"].pop(vin)
        car = ctx.tx.get(VEHICLES, survivor["dealership_id"], vin)
        if car is None or car["owner_id"] != survivor["customer_id"]:
            continue
        car["owner_id"] = restored["customer_id"]
        owners = car["doc"]["owners"]
        if owners and owners[-1]["customer_id"] == survivor["customer_id"]:
            owners[-1]["customer_id"] = restored["customer_id"]
        ctx.tx.put(VEHICLES, car)


def _unfold(survivor: Row, family: list[Row | None]) -> None:
    """Take the restored profiles' identities and vehicles off the survivor's; each vehicle
    goes back as the survivor's profile last recorded it (a delivery or service filed under
    the survivor while merged was about the restored customer's car)."""
    doc = survivor["doc"]
    for member in family:
        if member is None:
            continue
        other = member["doc"]
        for key in ("phones", "external_ids", "flagged_phones"):
            doc[key] = [v for v in doc[key] if v not in other[key]]
        for vin in other["vehicles"]:  # with what was recorded about them while merged
            if vin in doc["vehicles"]:
                other["vehicles"][vin] = doc["vehicles"].pop(vin)
        if "plates" in doc:
            doc["plates"] = [p for p in doc["plates"] if p not in other.get("plates", [])]
