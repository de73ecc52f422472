"""Bringing a read store written by an older version up to tables.py's schema.

`migrate(tx)` runs at start (`ReadStore`), before the schema's statements: an index there
may name a column added here. Each step looks at what the store has, so a second run
changes nothing, and leaves the rows as a rebuild from RETENTION would write them (`laoke
verify` compares the two).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from services.projections.classes import class_columns
from services.projections.docjson import dump_doc
from services.projections.readmodels.context import money
from services.projections.readmodels.followups import vin_of
from services.projections.readmodels.tallies import LINE_OF
from services.projections.settings import ClassThresholds
from services.projections.tables import (
    CLASS_COLUMNS,
    CLASS_INDEX_COLUMNS,
    CLASS_INDEXES,
    COMPLAINTS,
    CUSTOMERS,
    FOLLOWUPS,
    REFERRALS,
    DocTable,
)
from services.projections.transaction import Tx

CHUNK = 5000  # rows read at a time


def migrate(tx: Tx) -> None:
    columns = table_columns(tx, "followups")
    if columns and "channel" not in columns:
        tx.execute("ALTER TABLE followups ADD COLUMN channel TEXT")
        _fill_followups(tx)
    # The ops lists' columns (queries/customer_list.py, queries/complaints.py), and whom a
    # referral's reward credits (readmodels/tallies.py).
    derived = (
        (CUSTOMERS, "search"),
        (COMPLAINTS, "status"),
        (REFERRALS, "referrer_id"),
        (FOLLOWUPS, "expires_at"),  # the work list leaves out a contact past it
    )
    for table, column in derived:
        columns = table_columns(tx, table.name)
        if columns and column not in columns:
            tx.execute(f"ALTER TABLE {table.name} ADD COLUMN {column} TEXT")
            _fill_derived(tx, table, column)
    columns = table_columns(tx, CUSTOMERS.name)
    if columns and "class_burden" not in columns:
        for column, kind in zip(CLASS_COLUMNS, CLASS_TYPES, strict=True):
            tx.execute(f"ALTER TABLE customers ADD COLUMN {column} {kind}")
        # filled by `refresh_class_columns`: no thresholds are recorded for them yet
    columns = table_columns(tx, "identities")
    if columns and "event_id" not in columns:  # unknown for rows from before: none
        tx.execute("ALTER TABLE identities ADD COLUMN event_id TEXT")
    columns = table_columns(tx, CUSTOMERS.name)
    if columns and "first_seen_at" not in columns:  # the retention figures' new customers
        tx.execute("ALTER TABLE customers ADD COLUMN first_seen_at TEXT")
        _fill_derived(tx, CUSTOMERS, "first_seen_at")
    columns = table_columns(tx, "timeline")
    if columns and "kind" not in columns:
        tx.execute("ALTER TABLE timeline ADD COLUMN kind TEXT")
        _fill_visit_kinds(tx)
    columns = table_columns(tx, "purchases")
    if columns and "ref" not in columns:
        tx.execute("ALTER TABLE purchases ADD COLUMN ref TEXT")
        _fill_purchase_refs(tx)
    if columns and _customers_lack(tx, "vehicle_spend_cny"):
        _fill_line_stats(tx)
    # The classes' partial indexes from before they held every column the customer list's
    # id query reads (tables.py): dropped, for the schema to create them again.
    for index in CLASS_INDEXES:
        held = index_columns(tx, index)
        if held and held != set(CLASS_INDEX_COLUMNS):
            tx.execute(f"DROP INDEX {index}")


CLASS_TYPES = ("INTEGER", "TEXT", "INTEGER", "TEXT", "REAL", "REAL")
CLASS_STAMP = "class_thresholds"
FIRST_SEEN_STAMP = "first_seen_earliest"


def earliest_first_seen(tx: Tx) -> None:
    """Customers' `first_seen_at` at their earliest event in a store written when it was the
    first event received (an older one, history imported late, now moves it back:
    readmodels/customers.py `record`): lowered to the earliest row of their timeline, which
    holds a merged customer's events too. Once per store (a stamp in `derived`; a fresh store
    only records it); before `refresh_class_columns`, which then counts the tenure again. A
    customer merged away keeps its document as it was (nothing reads it; a rebuild has it)."""
    if tx.query("SELECT 1 FROM derived WHERE name = ?", (FIRST_SEEN_STAMP,)):
        return
    rows = tx.query(
        "SELECT c.customer_id, c.doc, m.first FROM customers c JOIN (SELECT customer_id,"
        " MIN(occurred_at) AS first FROM timeline GROUP BY customer_id) m ON m.customer_id ="
        " c.customer_id WHERE c.merged_into IS NULL AND m.first < c.first_seen_at"
    )
    updates = []
    for customer_id, text, first in rows:
        doc = json.loads(text)
        doc["first_seen_at"] = first
        updates.append((first, dump_doc(doc), customer_id))
    if updates:
        tx.executemany(
            "UPDATE customers SET first_seen_at = ?, doc = ? WHERE customer_id = ?", updates
        )
        tx.execute("DELETE FROM derived WHERE name = ?", (CLASS_STAMP,))
    tx.execute("INSERT INTO derived (name, value) VALUES (?, '1')", (FIRST_SEEN_STAMP,))


def refresh_class_columns(tx: Tx, limits: ClassThresholds) -> None:
    """The class columns of every customer computed again when the class thresholds differ
    from those they were computed with (or none are recorded: an older or a new store), so
    they always follow the settings the service runs with; a fresh store only records them."""
    wanted = limits.model_dump_json()
    found = tx.query("SELECT value FROM derived WHERE name = ?", (CLASS_STAMP,))
    if found and found[0][0] == wanted:
        return
    last = ""
    sets = ", ".join(f"{c} = ?" for c in CLASS_COLUMNS)
    while rows := tx.query(
        "SELECT customer_id, doc FROM customers WHERE customer_id > ? ORDER BY customer_id LIMIT ?",
        (last, CHUNK),
    ):
        updates = [
            (*class_columns(json.loads(doc), limits).values(), customer_id)
            for customer_id, doc in rows
        ]
        tx.executemany(f"UPDATE customers SET {sets} WHERE customer_id = ?", updates)
        last = rows[-1][0]
    tx.execute(
        "INSERT INTO derived (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (CLASS_STAMP, wanted),
    )


def table_columns(tx: Tx, table: str) -> set[str]:
    """The columns `table` has in this store (none when it does not exist yet)."""
    if tx.store.kind == "postgres":
        rows = tx.query(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = ? AND table_name = ?",
            (tx.store.schema, table),
        )
    else:
        rows = tx.query("SELECT name FROM pragma_table_info(?)", (table,))
    return {str(r[0]) for r in rows}


def index_columns(tx: Tx, index: str) -> set[str]:
    """The columns `index` holds in this store (none when it does not exist)."""
    if tx.store.kind == "postgres":
        rows = tx.query(
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON"
            " a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE n.nspname = ? AND c.relname = ?",
            (tx.store.schema, index),
        )
    else:
        rows = tx.query("SELECT name FROM pragma_index_info(?)", (index,))
    return {str(r[0]) for r in rows}


def _fill_followups(tx: Tx) -> None:
    """The work list's columns for follow-ups written before it: `channel` (lifted out of
    the document, for the filter's index) and the document's `vin` (the vehicle). Read in
    chunks (a store may hold millions); a retry names its first try, never another retry,
    so a first pass of every follow-up's own VIN is all a second pass needs."""
    complaints = {
        (d, c): vin
        for d, c, text in tx.query("SELECT dealership_id, complaint_id, doc FROM complaints")
        if (vin := json.loads(text).get("vin"))
    }
    own: dict[tuple[str, str], str] = {}
    for chunk in _chunks(tx):
        for d, f, doc in chunk:
            if vin := vin_of(doc, _at(complaints, d), _at({}, d)):
                own[(d, f)] = vin
    for chunk in _chunks(tx):
        updates = []
        for d, f, doc in chunk:
            doc["vin"] = vin_of(doc, _at(complaints, d), _at(own, d))
            updates.append((doc.get("channel"), dump_doc(doc), d, f))
        tx.executemany(
            "UPDATE followups SET channel = ?, doc = ? WHERE dealership_id = ?"
            " AND follow_up_id = ?",
            updates,
        )


def _fill_derived(tx: Tx, table: DocTable, column: str) -> None:
    """A column `table.derive` computes, filled in for the rows written before it."""
    assert table.derive is not None
    present = table_columns(tx, table.name)  # columns added later still are not yet
    keys, names = ", ".join(table.keys), [c for c in table.all_columns if c in present]
    marks = ", ".join("?" * len(table.keys))
    match = " AND ".join(f"{k} = ?" for k in table.keys)
    last: tuple[Any, ...] = ("",) * len(table.keys)
    while rows := tx.query(
        f"SELECT {', '.join(names)} FROM {table.name} WHERE ({keys}) > ({marks})"
        f" ORDER BY {keys} LIMIT ?",
        (*last, CHUNK),
    ):
        updates = []
        for values in rows:
            row = dict(zip(names, values, strict=True))
            row["doc"] = json.loads(row["doc"])
            table.derive(row)
            updates.append((row[column], *(row[k] for k in table.keys)))
        tx.executemany(f"UPDATE {table.name} SET {column} = ? WHERE {match}", updates)
        last = rows[-1][: len(table.keys)]


def _at(found: dict[tuple[str, str], str], dealership_id: str) -> Callable[[str], str | None]:
    """A lookup by id within one dealership."""
    return lambda ident: found.get((dealership_id, ident))


def _chunks(tx: Tx) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Every follow-up's key and document, in key order, `CHUNK` at a time."""
    last = ("", "")
    while rows := tx.query(
        "SELECT dealership_id, follow_up_id, doc FROM followups WHERE (dealership_id,"
        " follow_up_id) > (?, ?) ORDER BY dealership_id, follow_up_id LIMIT ?",
        (*last, CHUNK),
    ):
        yield [(d, f, json.loads(text)) for d, f, text in rows]
        last = (rows[-1][0], rows[-1][1])


def _fill_purchase_refs(tx: Tx) -> None:
    """`purchases.ref` (the repair order or order) and the `rework` kind for purchases
    written before them, read back from their timeline rows: the summary holds the event's
    scalar fields as `key=value, …` (readmodels/summary.py `summary_of`), and these ids and
    kinds have no ", " in them."""
    updates = []
    for event_id, event_type, summary in tx.query(
        "SELECT event_id, event_type, summary FROM timeline"
        " WHERE event_type IN ('ServiceCompleted', 'SmallPurchaseMade')"
    ):
        fields = dict(part.split("=", 1) for part in summary.split(", ") if "=" in part)
        if event_type == "SmallPurchaseMade":
            updates.append((fields.get("order_id"), "small", event_id))
            continue
        kind = "rework" if fields.get("service_kind") == "rework" else "service"
        updates.append((fields.get("repair_order_id"), kind, event_id))
    tx.executemany("UPDATE purchases SET ref = ?, kind = ? WHERE event_id = ?", updates)


def _fill_visit_kinds(tx: Tx) -> None:
    """The timeline's `kind` of visits written before it, read back from their summary
    (readmodels/summary.py `summary_of`: the event's fields in order, `visit_kind=…`
    before the free-text note, so the first one is the visit's). A customer erased before
    (summary blanked) keeps no kind; a rebuild has it."""
    updates = []
    for seq, summary in tx.query(
        "SELECT seq, summary FROM timeline WHERE event_type = 'CustomerVisited'"
    ):
        kinds = (p[11:] for p in summary.split(", ") if p.startswith("visit_kind="))
        if kind := next(kinds, None):
            updates.append((kind, seq))
    tx.executemany("UPDATE timeline SET kind = ? WHERE seq = ?", updates)


def _customers_lack(tx: Tx, key: str) -> bool:
    """Whether the store has a customer document whose stats lack `key` (one row read)."""
    rows = tx.query("SELECT doc FROM customers LIMIT 1")
    return bool(rows) and key not in json.loads(rows[0][0])["stats"]


def _fill_line_stats(tx: Tx) -> None:
    """The classes' counters (spend by line, paid and free service visits) for customers
    written before them, summed from their `purchases` rows. A merge moved the merged
    customers' rows to the survivor (whose counters are the sums): a merged customer's own
    are those of the events that named it (the timeline's `original_customer_id`)."""
    sums = (
        "p.kind, SUM(p.amount_cny), SUM(CASE WHEN p.amount_cny > 0 THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN p.amount_cny <= 0 THEN 1 ELSE 0 END), MIN(CASE WHEN p.amount_cny > 0"
        " THEN p.at END), MAX(CASE WHEN p.amount_cny > 0 THEN p.at END)"
    )
    found: dict[str, dict[str, Any]] = {}
    for customer_id, kind, total, paid, free, first, last in [
        *tx.query(
            f"SELECT p.customer_id, {sums} FROM purchases p JOIN customers c ON c.customer_id"
            " = p.customer_id WHERE c.merged_into IS NULL GROUP BY p.customer_id, p.kind"
        ),
        *tx.query(
            f"SELECT t.original_customer_id, {sums} FROM purchases p JOIN timeline t ON"
            " t.event_id = p.event_id JOIN customers c ON c.customer_id ="
            " t.original_customer_id WHERE c.merged_into IS NOT NULL"
            " GROUP BY t.original_customer_id, p.kind"
        ),
    ]:
        stats = found.setdefault(customer_id, _line_stats())
        line = LINE_OF.get(kind)
        if line is not None:
            stats[line] = money(stats[line] + float(total))
        if kind == "service":
            stats.update(
                paid_service_visits=int(paid),
                free_service_visits=int(free),
                first_paid_service_at=first,
                last_paid_service_at=last,
            )
    last_id = ""
    while rows := tx.query(
        "SELECT customer_id, doc FROM customers WHERE customer_id > ? ORDER BY customer_id LIMIT ?",
        (last_id, CHUNK),
    ):
        updates = []
        for customer_id, text in rows:
            doc = json.loads(text)
            doc["stats"].update(found.get(customer_id) or _line_stats())
            updates.append((dump_doc(doc), customer_id))
        tx.executemany("UPDATE customers SET doc = ? WHERE customer_id = ?", updates)
        last_id = rows[-1][0]


def _line_stats() -> dict[str, Any]:
    return {
        "vehicle_spend_cny": 0.0,
        "service_spend_cny": 0.0,
        "parts_spend_cny": 0.0,
        "paid_service_visits": 0,
        "first_paid_service_at": None,
        "last_paid_service_at": None,
        "free_service_visits": 0,
    }
