"""Rebuild equals live; a redelivered batch changes nothing; a restart resumes after the
stored position."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from contextlib import closing
from datetime import timedelta

from projections_helpers import Rig

from events import (
    ComplaintResolved,
    CustomersMerged,
    FollowUpDue,
    RewardGranted,
    SurveyAnswerRejected,
)
from laoke.settings import LaokeSettings
from services.projections.application import CONSUMER, Message
from services.projections.classes import CLASS_COLUMNS, class_columns
from services.projections.docjson import dump_doc
from services.projections.migrations import table_columns
from services.projections.rebuild import rebuild
from services.projections.store import PG_SCHEMA, SQLITE_FILE, ReadStore
from services.projections.tables import API_INDEXES


async def history(rig: Rig) -> None:
    """A little of everything, merges included."""
    registered = await rig.send("CustomerRegistered", occurred_at=rig.at(-300))
    customer_id = await rig.customer_id(registered)
    await rig.send("VehiclePurchased", occurred_at=rig.at(-290), plate="京A·12345")
    await rig.send("VehicleDelivered", occurred_at=rig.at(-280))
    await rig.send("ServiceCompleted", occurred_at=rig.at(-100))
    await rig.send("SurveyAnswered", occurred_at=rig.at(-99), survey_kind="NPS", score=4)
    await rig.decide(SurveyAnswerRejected, customer_id, survey_id="sv-0001", why="wrong_customer")
    await rig.send("ComplaintFiled", occurred_at=rig.at(-50))
    await rig.send("ApologyIssued", occurred_at=rig.at(-49))
    await rig.send("ComplaintInvestigated", occurred_at=rig.at(-48))
    await rig.send("RemedyProposed", occurred_at=rig.at(-47))
    await rig.send("RemedyAccepted", occurred_at=rig.at(-46))
    await rig.decide(
        ComplaintResolved,
        customer_id,
        complaint_id="CP-0001",
        resolved_at=rig.clock.now() - timedelta(hours=46),
        hours_to_resolution=4.0,
        within_sla=True,
    )
    await rig.decide(
        FollowUpDue,
        customer_id,
        follow_up_id="fu-9",
        reason="complaint_callback",
        due_at=rig.clock.now(),
        channel="phone",
        complaint_id="CP-0001",
    )
    await rig.decide(  # its vehicle: that of the complaint, through the call it retries
        FollowUpDue,
        customer_id,
        follow_up_id="fu-10",
        reason="retry",
        due_at=rig.clock.now(),
        channel="sms",
        detail={"retry_of": "fu-9", "attempt": "2"},
    )
    other = await rig.send(
        "CustomerRegistered", phones=["13900139000"], customer={"phone": "13900139000"}
    )
    await rig.send("SmallPurchaseMade", customer={"phone": "13900139000"})
    await rig.send("ContactPreferenceChanged", customer={"phone": "13900139000"})
    await rig.decide(
        CustomersMerged,
        customer_id,
        survivor_id=customer_id,
        merged_ids=[await rig.customer_id(other)],
        because="same person (test)",
    )
    await rig.send("ReferralClaimed", occurred_at=rig.at(-1))
    await rig.decide(RewardGranted, customer_id, referral_id="rf-0001",
                     referrer_customer_id=await rig.customer_id(other),
                     kind="service_voucher", amount_cny=1000)  # fmt: skip
    await rig.settled()


def dump(settings: LaokeSettings) -> dict[str, list[tuple[object, ...]]]:
    store = ReadStore(settings)
    try:
        return store.dump(skip=lambda table: table == "positions")
    finally:
        store.close()


def indexes(settings: LaokeSettings) -> set[str]:
    """The live store's indexes, read without opening a `ReadStore` (which creates any
    that are missing)."""
    if settings.store == "postgres":
        import psycopg

        with psycopg.connect(settings.postgres_dsn) as conn:
            found = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (PG_SCHEMA,)
            ).fetchall()
    else:
        with closing(sqlite3.connect(settings.sqlite_path(SQLITE_FILE))) as conn:
            found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {name for (name,) in found}


async def test_rebuild_from_scratch_equals_the_live_models(rig: Rig) -> None:
    await history(rig)
    await rig.projections.stop()  # the rebuild swaps the store: the service must be stopped
    live = dump(rig.settings)
    assert len(live["customers"]) == 2 and live["complaints"] and live["followups"]
    live_indexes = indexes(rig.settings)
    assert API_INDEXES <= live_indexes

    progress = io.StringIO()
    counts = await asyncio.to_thread(rebuild, rig.settings, progress=progress)

    # The read API's indexes, left out while the rows went in, are there when it swaps in.
    assert indexes(rig.settings) == live_indexes
    rebuilt = dump(rig.settings)
    assert list(rebuilt) == list(live)
    for table in live:
        assert rebuilt[table] == live[table], table
    assert counts["events"] == len(live["timeline"])
    assert "rebuild [" in progress.getvalue() and "100%" in progress.getvalue()
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


async def test_a_store_from_before_the_work_list_is_brought_up_to_date(rig: Rig) -> None:
    """`migrations.py`: an older store (no `channel` or `expires_at` column, no `vin` in the
    follow-ups' documents) opened by this version holds what the projector writes now."""
    await history(rig)
    await rig.projections.stop()
    live = dump(rig.settings)
    vins = {r[1]: json.loads(r[-3])["vin"] for r in live["followups"]}  # doc, channel, expiry
    assert vins == {"fu-9": "LSGKB54E7LS123456", "fu-10": "LSGKB54E7LS123456"}

    store = ReadStore(rig.settings)  # made old: the column and the documents' vin gone
    with store.transaction() as tx:
        tx.execute("DROP INDEX followups_list_channel")
        tx.execute("ALTER TABLE followups DROP COLUMN channel")
        tx.execute("ALTER TABLE followups DROP COLUMN expires_at")
        for d, f, text in tx.query("SELECT dealership_id, follow_up_id, doc FROM followups"):
            doc = json.loads(text)
            del doc["vin"]
            tx.execute(
                "UPDATE followups SET doc = ? WHERE dealership_id = ? AND follow_up_id = ?",
                (dump_doc(doc), d, f),
            )
        assert "channel" not in table_columns(tx, "followups")
    store.close()

    assert dump(rig.settings) == live
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


async def test_a_store_from_before_the_ops_lists_is_brought_up_to_date(rig: Rig) -> None:
    """`migrations.py`: a store without the lists' columns (customers' `search`, complaints'
    `status`, customers' class columns) and their indexes, opened by this version, holds
    what the projector writes."""
    await history(rig)
    await rig.projections.stop()
    live = dump(rig.settings)
    assert {r[-1] for r in live["complaints"]} == {"resolved"}
    assert any("京a12345" in (r[6] or "") for r in live["customers"])  # `search`

    store = ReadStore(rig.settings)
    with store.transaction() as tx:
        lists = ("customers_list", "complaints_list_status")
        classes = ("customers_class", "customers_burden", "customers_gold", "customers_meteor")
        for index in (*lists, *classes):
            tx.execute(f"DROP INDEX {index}")
        tx.execute("DROP INDEX customers_first_seen")
        # the class columns came later still, and `first_seen_at` after them
        for column in ("search", *CLASS_COLUMNS, "first_seen_at"):
            tx.execute(f"ALTER TABLE customers DROP COLUMN {column}")
        tx.execute("DROP TABLE derived")
        tx.execute("ALTER TABLE complaints DROP COLUMN status")
        assert "search" not in table_columns(tx, "customers")
    store.close()

    assert dump(rig.settings) == live
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


async def test_a_store_from_before_split_provenance_is_brought_up_to_date(rig: Rig) -> None:
    """`migrations.py`: a store without `referrals.referrer_id` (whom a reward credits) and
    `identities.event_id` (the event that gave a value to its customer), opened by this
    version: the referrer is read back from the reward; which event gave an identity is not
    known for the rows from before (none: a split leaves them where they are)."""
    await history(rig)
    await rig.projections.stop()
    live = dump(rig.settings)
    ((*_, referrer),) = live["referrals"]
    assert referrer is not None
    assert all(r[-1] for r in live["identities"])

    store = ReadStore(rig.settings)
    with store.transaction() as tx:
        tx.execute("DROP INDEX referrals_referrer")
        tx.execute("ALTER TABLE referrals DROP COLUMN referrer_id")
        tx.execute("ALTER TABLE identities DROP COLUMN event_id")
    store.close()

    migrated = dump(rig.settings)
    assert migrated["referrals"] == live["referrals"]
    assert migrated["identities"] == [(*r[:-1], None) for r in live["identities"]]
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


async def test_a_redelivered_batch_changes_nothing(rig: Rig) -> None:
    await history(rig)
    store = rig.projections.store
    before = store.dump()
    last = store.position(CONSUMER)
    replay = [
        Message(seq, (await rig.js.get_msg("RETENTION", seq)).data or b"")
        for seq in range(1, last + 1)
    ]
    failures = rig.projections.projections.apply_batch(replay)
    assert failures == []
    assert store.dump() == before


async def test_restart_resumes_after_the_stored_position(rig: Rig) -> None:
    await rig.send("CustomerRegistered")
    await rig.projections.stop()
    rig.projections = type(rig.projections)(rig.settings, rig.clock)
    await rig.projections.start()
    visit = await rig.send("CustomerVisited")
    await rig.settled()
    rows = rig.projections.store.query("SELECT event_type FROM timeline ORDER BY seq")
    assert [r[0] for r in rows] == ["CustomerRegistered", "CustomerVisited"]
    assert visit["event_id"]


LINE_STATS = (
    "vehicle_spend_cny",
    "service_spend_cny",
    "parts_spend_cny",
    "paid_service_visits",
    "first_paid_service_at",
    "last_paid_service_at",
    "free_service_visits",
)


async def test_a_store_from_before_the_figures_is_brought_up_to_date(rig: Rig) -> None:
    """`migrations.py`: a store without `purchases.ref`, with reworks kept as `service`, and
    customers without the classes' counters by line, opened by this version, holds what the
    projector writes (the references and kinds read back from the timeline)."""
    await history(rig)
    await rig.send("ServiceCompleted", occurred_at=rig.at(-20), service_kind="rework")
    await rig.send("ServiceCompleted", occurred_at=rig.at(-10), amount_cny=0)
    await rig.send("SmallPurchaseMade", occurred_at=rig.at(-5))
    await rig.projections.stop()
    live = dump(rig.settings)
    assert {r[3] for r in live["purchases"]} >= {"vehicle", "service", "rework", "small"}

    store = ReadStore(rig.settings)
    with store.transaction() as tx:
        tx.execute("UPDATE purchases SET kind = 'service' WHERE kind = 'rework'")
        tx.execute("ALTER TABLE purchases DROP COLUMN ref")
        for customer_id, text in tx.query("SELECT customer_id, doc FROM customers"):
            doc = json.loads(text)
            for key in LINE_STATS:
                del doc["stats"][key]
            tx.execute(
                "UPDATE customers SET doc = ? WHERE customer_id = ?", (dump_doc(doc), customer_id)
            )
        assert "ref" not in table_columns(tx, "purchases")
    store.close()

    assert dump(rig.settings) == live  # the merged customer's own counters included
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


async def test_a_store_from_before_the_retention_figures_is_brought_up_to_date(rig: Rig) -> None:
    """`migrations.py`: a store without customers' `first_seen_at` and the timeline's
    `kind` (a visit's kind, read back from its summary) and their indexes, opened by this
    version, holds what the projector writes."""
    await history(rig)
    await rig.send("CustomerVisited", occurred_at=rig.at(-3), visit_kind="phone_out")
    await rig.send("CustomerVisited", occurred_at=rig.at(-2), visit_kind="event")
    await rig.projections.stop()
    live = dump(rig.settings)
    kinds = [r[-1] for r in live["timeline"] if r[5] == "CustomerVisited"]
    assert kinds == ["phone_out", "event"]
    assert all(r[-1] for r in live["customers"])  # first seen

    store = ReadStore(rig.settings)
    with store.transaction() as tx:
        for index in ("customers_first_seen", "customers_last_touch"):
            tx.execute(f"DROP INDEX {index}")
        tx.execute("ALTER TABLE customers DROP COLUMN first_seen_at")
        tx.execute("ALTER TABLE timeline DROP COLUMN kind")
        assert "kind" not in table_columns(tx, "timeline")
    store.close()

    assert dump(rig.settings) == live
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()


async def test_a_store_from_before_late_history_moved_first_seen_is_brought_up_to_date(
    rig: Rig,
) -> None:
    """`migrations.py`: a store that kept a customer's first event received as first seen
    (not an older one that came later: history imported late), and the class columns it
    counted from it, opened by this version, holds what the projector writes now."""
    await history(rig)
    # An owner of two cars (loyal: gold once of tenure) whose first purchase comes late.
    owner = {"phone": "13700137000", "vin": "LFV2A21K0P4000001"}
    bought = await rig.send(
        "VehiclePurchased", occurred_at=rig.at(-1), customer=owner, vin=owner["vin"]
    )
    await rig.send(
        "VehiclePurchased",
        occurred_at=rig.at(-5000),
        customer=owner | {"vin": "LFV2A21K0P4000002"},
        vin="LFV2A21K0P4000002",
    )
    customer_id = await rig.customer_id(bought)
    await rig.projections.stop()
    live = dump(rig.settings)

    store = ReadStore(rig.settings)  # made old: first seen as first received, classes by it
    with store.transaction() as tx:
        ((text, gold_from),) = tx.query(
            "SELECT doc, class_gold_from FROM customers WHERE customer_id = ?", (customer_id,)
        )
        ((received,),) = tx.query(
            "SELECT occurred_at FROM timeline WHERE event_id = ?", (bought["event_id"],)
        )
        doc = json.loads(text)
        assert doc["first_seen_at"] < received  # moved back by the late purchase
        doc["first_seen_at"] = received
        columns = class_columns(doc, store.classes)
        assert columns["class_gold_from"] != gold_from  # the tenure counts from first seen
        sets = ", ".join(f"{c} = ?" for c in columns)
        tx.execute(
            f"UPDATE customers SET first_seen_at = ?, doc = ?, {sets} WHERE customer_id = ?",
            (received, dump_doc(doc), *columns.values(), customer_id),
        )
        tx.execute("DELETE FROM derived WHERE name = 'first_seen_earliest'")
    store.close()

    assert dump(rig.settings) == live
    rig.projections = type(rig.projections)(rig.settings, rig.clock)  # for the rig's stop()
