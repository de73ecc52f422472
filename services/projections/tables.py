"""The read store's tables, and how values are stored in them.

SQL here is portable: TEXT for JSON and for timestamps (UTC, fixed width, so text order is
time order). Documents (`doc`) are JSON objects dumped with sorted keys (docjson.py), so a
rebuilt store is byte-for-byte comparable with a live one. `SCHEMA` creates every table and
index (run by `ReadStore` at start, store.py; a rebuild's store leaves `API_INDEXES` to its
end); `TABLES` names them all (for dumps and comparisons).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

Row = dict[str, Any]


@dataclass(frozen=True)
class DocTable:
    """A table of JSON documents with some columns lifted out for indexes and queries."""

    name: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]  # besides keys and `doc`
    # Sets the columns computed from the rest of the row, at every write (`Tx.flush`) and
    # by the migration that adds them (migrations.py): handlers never set them.
    derive: Callable[[Row], None] | None = None

    @property
    def all_columns(self) -> tuple[str, ...]:
        return (*self.keys, *self.columns, "doc")


def plates_of(doc: dict[str, Any]) -> list[str]:
    """A customer's licence plates: those registered with the person, then those of their
    vehicles (`VehiclePurchased.plate`) by VIN, each once. (By VIN, not in the document's
    order: a document read back from the store has its keys sorted, one still being built
    has them as they came, and a rebuild must write what the live store wrote.)"""
    vehicles = (v for _, v in sorted(doc["vehicles"].items()))
    found = [*doc.get("plates", []), *(v["plate"] for v in vehicles if v.get("plate"))]
    return list(dict.fromkeys(found))


def _customer_derived(row: Row) -> None:
    """`search`: what `GET /v1/customers?q=` matches a fragment in (queries/customer_list.py):
    the name, each phone's digits and each plate, one a line, lower-cased. `first_seen_at`:
    the document's, lifted out for the new customers of a period (queries/retention.py)."""
    doc = row["doc"]
    phones = (p.lstrip("+") for p in doc["phones"])
    row["search"] = "\n".join([doc["name"] or "", *phones, *plates_of(doc)]).lower()
    row["first_seen_at"] = doc["first_seen_at"]


def complaint_status(row: Row) -> str:
    """Where a complaint stands, each in one state: `closed` (step 6 done), `resolved` (a
    remedy accepted), `escalated` (unresolved, escalated at least once), else `open`."""
    doc = row["doc"]
    if doc["closed_at"] is not None:
        return "closed"
    if row["resolved_at"] is not None:
        return "resolved"
    return "escalated" if doc["escalations"] else "open"


def _complaint_status(row: Row) -> None:
    row["status"] = complaint_status(row)


# The customer's class standing (classes.py `Standing`), set by `Tx.flush` with the store's
# class thresholds: the class counts and the list's filter read these columns.
CLASS_COLUMNS = (
    "class_burden",
    "class_gold_from",
    "class_big",
    "class_meteor_from",
    "value_cny",
    "cost_cny",
)

# What each class's partial index holds (SCHEMA below): every column the customer list's
# id query reads but `search`.
CLASS_INDEX_COLUMNS = ("dealership_id", "customer_id", "merged_into", "last_touch_at",
                       *CLASS_COLUMNS[:4])  # fmt: skip
CLASS_INDEXES = ("customers_burden", "customers_gold", "customers_meteor")
_CLASS_INDEX = ", ".join(CLASS_INDEX_COLUMNS)

CUSTOMERS = DocTable(
    "customers",
    ("customer_id",),
    (
        "dealership_id",
        "merged_into",
        "advisor_id",
        "last_touch_at",
        "search",
        *CLASS_COLUMNS,
        "first_seen_at",
    ),
    _customer_derived,
)
COMPLAINTS = DocTable(
    "complaints",
    ("dealership_id", "complaint_id"),
    (
        "customer_id",
        "category",
        "advisor_id",
        "department",
        "filed_at",
        "apologised_at",
        "resolved_at",
        "within_sla",
        "status",
    ),
    _complaint_status,
)


def _followup_expiry(row: Row) -> None:
    """`expires_at`: the document's (outreach's, on the `FollowUpDue`), lifted out for the
    work list, which leaves out an open contact past it before outreach records its expiry."""
    row["expires_at"] = row["doc"].get("expires_at")


FOLLOWUPS = DocTable(
    "followups",
    ("dealership_id", "follow_up_id"),
    (
        "customer_id",
        "status",
        "due_at",
        "done_at",
        "reason",
        "advisor_id",
        "department",
        "channel",
        "expires_at",
    ),
    _followup_expiry,
)


def _referral_referrer(row: Row) -> None:
    """`referrer_id`: the customer credited with the referral's reward (none until then),
    as the reward named them: counted again from these rows after a split (tallies.py)."""
    row["referrer_id"] = (row["doc"]["reward"] or {}).get("referrer_customer_id")


REFERRALS = DocTable(
    "referrals",
    ("dealership_id", "referral_id"),
    ("customer_id", "claimed_at", "verdict", "advisor_id", "referrer_id"),
    _referral_referrer,
)
VEHICLES = DocTable("vehicles", ("dealership_id", "vin"), ("owner_id",))
"""One per VIN: its owners over time and its services (readmodels/vehicles.py)."""
MERGES = DocTable(
    "merges", ("dealership_id", "merge_event_id"), ("merged_at", "survivor_id", "split_at")
)
"""One per `CustomersMerged`: whom, on what evidence, and its split (readmodels/merges.py)."""
DOC_TABLES = {t.name: t for t in (CUSTOMERS, COMPLAINTS, FOLLOWUPS, REFERRALS, VEHICLES, MERGES)}

SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS positions (consumer TEXT PRIMARY KEY, seq BIGINT NOT NULL)",
    # Columns added to older stores by `ALTER TABLE` (migrations.py) come last, after `doc`:
    # a fresh table has them in the same place, so a rebuilt store dumps like a migrated one.
    "CREATE TABLE IF NOT EXISTS customers (customer_id TEXT PRIMARY KEY, dealership_id TEXT"
    " NOT NULL, merged_into TEXT, advisor_id TEXT, last_touch_at TEXT, doc TEXT NOT NULL,"
    " search TEXT, class_burden INTEGER, class_gold_from TEXT, class_big INTEGER,"
    " class_meteor_from TEXT, value_cny REAL, cost_cny REAL, first_seen_at TEXT)",
    # The class counts and the list's `class=` filter (queries/classes.py, customer_list.py)
    # read a dealership's customers from this index alone, in the list's order.
    "CREATE INDEX IF NOT EXISTS customers_class ON customers (dealership_id, customer_id,"
    " merged_into, advisor_id, last_touch_at, class_burden, class_gold_from, class_big,"
    " class_meteor_from, value_cny, cost_cny)",
    # A class's candidates (classes.CANDIDATES_SQL) in the list's order: a rare class's page
    # reads its few candidates, not every customer. Each holds every column `CLASS_SQL` and
    # the list's filters read (`CLASS_INDEX_COLUMNS`), so the planner takes it as covering the
    # page's id query; one that lacked some is replaced (migrations.py).
    f"CREATE INDEX IF NOT EXISTS customers_burden ON customers ({_CLASS_INDEX})"
    " WHERE class_burden = 1",
    f"CREATE INDEX IF NOT EXISTS customers_gold ON customers ({_CLASS_INDEX})"
    " WHERE class_burden = 0 AND class_gold_from IS NOT NULL",
    f"CREATE INDEX IF NOT EXISTS customers_meteor ON customers ({_CLASS_INDEX})"
    " WHERE class_burden = 0 AND class_big = 1",
    # Which class thresholds the class columns were computed with (store.py).
    "CREATE TABLE IF NOT EXISTS derived (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS customers_merged ON customers (merged_into)",
    # The customer list (queries/customer_list.py) in its order, a dealership's customers by
    # id; `neglected` tests the last touchpoint on the rows it yields.
    "CREATE INDEX IF NOT EXISTS customers_list ON customers (dealership_id, customer_id)",
    # The retention figures (queries/retention.py): a period's new customers by when they
    # were first seen, its lost ones by their last touchpoint.
    "CREATE INDEX IF NOT EXISTS customers_first_seen ON customers (dealership_id, first_seen_at)",
    "CREATE INDEX IF NOT EXISTS customers_last_touch ON customers (dealership_id, last_touch_at)",
    # `event_id`: the event that gave the value to its customer (readmodels/context.py).
    "CREATE TABLE IF NOT EXISTS identities (dealership_id TEXT NOT NULL, kind TEXT NOT NULL,"
    " value TEXT NOT NULL, customer_id TEXT NOT NULL, event_id TEXT,"
    " PRIMARY KEY (dealership_id, kind, value))",
    "CREATE INDEX IF NOT EXISTS identities_value ON identities (kind, value)",
    "CREATE INDEX IF NOT EXISTS identities_customer ON identities (customer_id)",
    "CREATE TABLE IF NOT EXISTS timeline (seq BIGINT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " original_customer_id TEXT NOT NULL, dealership_id TEXT NOT NULL, event_id TEXT NOT NULL,"
    " event_type TEXT NOT NULL, occurred_at TEXT NOT NULL, source TEXT NOT NULL,"
    " touchpoint INTEGER NOT NULL, summary TEXT NOT NULL, kind TEXT)",
    "CREATE INDEX IF NOT EXISTS timeline_customer ON timeline (customer_id, occurred_at, seq)",
    # Every consent change (readmodels/consents.py): purposes and channels are JSON lists.
    "CREATE TABLE IF NOT EXISTS consents (seq BIGINT PRIMARY KEY, customer_id TEXT NOT NULL,"
    " original_customer_id TEXT NOT NULL, dealership_id TEXT NOT NULL, event_id TEXT NOT NULL,"
    " event_type TEXT NOT NULL, occurred_at TEXT NOT NULL, received_at TEXT, source TEXT NOT"
    " NULL, given INTEGER NOT NULL, purposes TEXT NOT NULL, channels TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS consents_customer ON consents (customer_id, occurred_at, seq)",
    "CREATE TABLE IF NOT EXISTS complaints (dealership_id TEXT NOT NULL, complaint_id TEXT NOT"
    " NULL, customer_id TEXT NOT NULL, category TEXT, advisor_id TEXT, department TEXT,"
    " filed_at TEXT, apologised_at TEXT, resolved_at TEXT, within_sla INTEGER, doc TEXT NOT NULL,"
    " status TEXT, PRIMARY KEY (dealership_id, complaint_id))",
    "CREATE INDEX IF NOT EXISTS complaints_id ON complaints (complaint_id)",
    # The complaint list (queries/complaints.py) in its order, (filed_at, complaint_id): all,
    # or of one status; category and advisor are tested on the rows the index yields.
    "DROP INDEX IF EXISTS complaints_filed",
    "CREATE INDEX IF NOT EXISTS complaints_list ON complaints (dealership_id, filed_at,"
    " complaint_id)",
    "CREATE INDEX IF NOT EXISTS complaints_list_status ON complaints (dealership_id, status,"
    " filed_at, complaint_id)",
    "CREATE INDEX IF NOT EXISTS complaints_customer ON complaints (customer_id)",
    # `channel` comes last: added to older stores by `ALTER TABLE` (migrations.py), it has
    # the same place in a fresh table, so a rebuilt store dumps like a migrated live one.
    "CREATE TABLE IF NOT EXISTS followups (dealership_id TEXT NOT NULL, follow_up_id TEXT NOT"
    " NULL, customer_id TEXT NOT NULL, status TEXT NOT NULL, due_at TEXT, done_at TEXT,"
    " reason TEXT, advisor_id TEXT, department TEXT, doc TEXT NOT NULL, channel TEXT,"
    " expires_at TEXT, PRIMARY KEY (dealership_id, follow_up_id))",
    # The work list (queries/followups.py) in its order, (due time, id), straight from an
    # index: a page reads its own rows and no more, from the first or from a cursor, with
    # no sort. One index per filter puts the filter in the equality prefix, so a rare
    # reason or an advisor's list is as cheap as the whole list; a second filter is tested
    # on the rows the first one's index yields (docs/projections.md, "The work list").
    "DROP INDEX IF EXISTS followups_work",
    "CREATE INDEX IF NOT EXISTS followups_worklist ON followups (dealership_id, status, due_at,"
    " follow_up_id)",
    "CREATE INDEX IF NOT EXISTS followups_list_advisor ON followups (dealership_id, status,"
    " advisor_id, due_at, follow_up_id)",
    "CREATE INDEX IF NOT EXISTS followups_list_reason ON followups (dealership_id, status,"
    " reason, due_at, follow_up_id)",
    "CREATE INDEX IF NOT EXISTS followups_list_channel ON followups (dealership_id, status,"
    " channel, due_at, follow_up_id)",
    "CREATE INDEX IF NOT EXISTS followups_customer ON followups (customer_id)",
    "CREATE INDEX IF NOT EXISTS followups_due ON followups (dealership_id, due_at, status,"
    " advisor_id, department)",
    # Follow-ups counted by due day and by due hour (UTC) and group, kept by `Tx.flush`: a
    # metrics period sums its whole days from the first, the whole hours of its two edge
    # days from the second, and counts only its two partial edge hours row by row.
    "CREATE TABLE IF NOT EXISTS followup_days (dealership_id TEXT NOT NULL, day TEXT NOT NULL,"
    " advisor_id TEXT NOT NULL, department TEXT NOT NULL, status TEXT NOT NULL, n BIGINT NOT"
    " NULL, PRIMARY KEY (dealership_id, day, advisor_id, department, status))",
    "CREATE TABLE IF NOT EXISTS followup_hours (dealership_id TEXT NOT NULL, hour TEXT NOT"
    " NULL, advisor_id TEXT NOT NULL, department TEXT NOT NULL, status TEXT NOT NULL, n BIGINT"
    " NOT NULL, PRIMARY KEY (dealership_id, hour, advisor_id, department, status))",
    "CREATE TABLE IF NOT EXISTS referrals (dealership_id TEXT NOT NULL, referral_id TEXT NOT"
    " NULL, customer_id TEXT NOT NULL, claimed_at TEXT, verdict TEXT, advisor_id TEXT,"
    " doc TEXT NOT NULL, referrer_id TEXT, PRIMARY KEY (dealership_id, referral_id))",
    "CREATE INDEX IF NOT EXISTS referrals_referrer ON referrals (referrer_id)",
    "CREATE INDEX IF NOT EXISTS referrals_id ON referrals (referral_id)",
    # The referral list (queries/referrals.py) in its order, (claimed_at, referral_id): all, or
    # of one verdict.
    "DROP INDEX IF EXISTS referrals_claimed",
    "CREATE INDEX IF NOT EXISTS referrals_list ON referrals (dealership_id, claimed_at,"
    " referral_id)",
    "CREATE INDEX IF NOT EXISTS referrals_list_verdict ON referrals (dealership_id, verdict,"
    " claimed_at, referral_id)",
    "CREATE INDEX IF NOT EXISTS referrals_customer ON referrals (customer_id)",
    "CREATE TABLE IF NOT EXISTS vehicles (dealership_id TEXT NOT NULL, vin TEXT NOT NULL,"
    " owner_id TEXT, doc TEXT NOT NULL, PRIMARY KEY (dealership_id, vin))",
    "CREATE TABLE IF NOT EXISTS merges (dealership_id TEXT NOT NULL, merge_event_id TEXT NOT"
    " NULL, merged_at TEXT NOT NULL, survivor_id TEXT NOT NULL, split_at TEXT, doc TEXT NOT"
    " NULL, PRIMARY KEY (dealership_id, merge_event_id))",
    # The merge list (queries/merges.py), newest first: (merged_at, merge_event_id) descending.
    "CREATE INDEX IF NOT EXISTS merges_list ON merges (dealership_id, merged_at, merge_event_id)",
    "CREATE TABLE IF NOT EXISTS surveys (event_id TEXT PRIMARY KEY, dealership_id TEXT NOT NULL,"
    " customer_id TEXT NOT NULL, survey_id TEXT NOT NULL, kind TEXT NOT NULL, score INTEGER NOT"
    " NULL, answered_at TEXT NOT NULL, advisor_id TEXT, department TEXT, rejected INTEGER NOT"
    " NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS surveys_period ON surveys (dealership_id, answered_at)",
    "CREATE INDEX IF NOT EXISTS surveys_customer ON surveys (customer_id)",
    # kind: vehicle | service | rework | small; ref: the repair order (service, rework) or
    # the order (small), which repurchase leaves out for the complaint it was about.
    "CREATE TABLE IF NOT EXISTS purchases (event_id TEXT PRIMARY KEY, dealership_id TEXT NOT"
    " NULL, customer_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, amount_cny REAL"
    " NOT NULL, ref TEXT)",
    "CREATE INDEX IF NOT EXISTS purchases_customer ON purchases (customer_id, at)",
    # The customers who bought in a period (the never-complained baseline, queries/figures.py).
    "CREATE INDEX IF NOT EXISTS purchases_period ON purchases (dealership_id, at)",
    "CREATE TABLE IF NOT EXISTS signals (event_id TEXT PRIMARY KEY, dealership_id TEXT NOT NULL,"
    " customer_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, advisor_id TEXT,"
    " department TEXT)",
    "CREATE INDEX IF NOT EXISTS signals_period ON signals (dealership_id, at)",
    "CREATE INDEX IF NOT EXISTS signals_customer ON signals (customer_id)",
    "CREATE TABLE IF NOT EXISTS refs (dealership_id TEXT NOT NULL, ref TEXT NOT NULL,"
    " advisor_id TEXT, department TEXT NOT NULL, PRIMARY KEY (dealership_id, ref))",
    "CREATE TABLE IF NOT EXISTS failures (seq BIGINT PRIMARY KEY, event_id TEXT, error TEXT NOT"
    " NULL)",
)
# The indexes only the read API's queries go through (lists in their order, periods, class
# counts): no handler reads by them. A rebuild on SQLite creates them once its rows are in
# (rebuild.py): one sort each, where keeping them at every write of the replay costs a
# tenth of its time.
API_INDEXES = frozenset(
    {
        "customers_class",
        "customers_burden",
        "customers_gold",
        "customers_meteor",
        "customers_list",
        "customers_first_seen",
        "customers_last_touch",
        "identities_value",
        "complaints_list",
        "complaints_list_status",
        "followups_worklist",
        "followups_list_advisor",
        "followups_list_reason",
        "followups_list_channel",
        "followups_due",
        "referrals_list",
        "referrals_list_verdict",
        "surveys_period",
        "purchases_period",
        "signals_period",
    }
)


def is_api_index(statement: str) -> bool:
    """Whether a `SCHEMA` statement creates one of `API_INDEXES`."""
    words = statement.split(maxsplit=6)
    return words[:5] == ["CREATE", "INDEX", "IF", "NOT", "EXISTS"] and words[5] in API_INDEXES


TABLES: tuple[str, ...] = (
    "positions",
    "customers",
    "identities",
    "timeline",
    "consents",
    "complaints",
    "followups",
    "followup_days",
    "followup_hours",
    "referrals",
    "vehicles",
    "merges",
    "surveys",
    "purchases",
    "signals",
    "refs",
    "failures",
    "derived",
)


@functools.lru_cache(maxsize=4096)
def ts(value: datetime) -> str:
    """A timestamp as stored: UTC, fixed width, so comparing text compares times.

    (`isoformat` of the UTC time, cut before the offset: the same text as
    `strftime("%Y-%m-%dT%H:%M:%S.%fZ")` at half the cost; cached because one event's
    times are formatted several times while it is applied.)"""
    offset = value.utcoffset()
    if offset is None or offset:
        value = value.astimezone(UTC)
    return f"{value.isoformat(timespec='microseconds')[:26]}Z"


def parse_ts(value: str) -> datetime:
    """A stored timestamp back to an aware UTC datetime (`fromisoformat` reads the `Z`
    since Python 3.11, some fifty times faster than `strptime`)."""
    return datetime.fromisoformat(value)


# A follow-up's tally: dealership, due hour or day, advisor, department, status.
FollowUpTally = tuple[str, str, str, str, str]


class Tally(NamedTuple):
    """A follow-up tally table: its bucket column, the bucket's width in a timestamp
    ('2024-01-02T08' an hour, '2024-01-02' a day) and the time a bucket spans."""

    table: str
    column: str
    width: int
    span: timedelta


FOLLOWUP_TALLIES: tuple[Tally, ...] = (  # finest first
    Tally("followup_hours", "hour", 13, timedelta(hours=1)),
    Tally("followup_days", "day", 10, timedelta(days=1)),
)


def followup_tally(row: Row) -> FollowUpTally | None:
    """The due-hour bucket a follow-up row counts in ('' for no advisor/department); its
    day's is the same with the hour cut to the day."""
    if row["due_at"] is None:
        return None
    return (
        row["dealership_id"],
        row["due_at"][:13],
        row["advisor_id"] or "",
        row["department"] or "",
        row["status"],
    )
