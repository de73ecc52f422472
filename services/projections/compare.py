"""Comparing two read stores table by table: the live one and one rebuilt from RETENTION.

Used by `laoke verify` and by the fault suite (tests/fault/fault_checks.py), so ops and the
tests apply the same check. Rows are compared as the store dumps them (sorted, documents
key-sorted), so equal read models give equal dumps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from services.projections.store import ReadStore

Dump = dict[str, list[tuple[Any, ...]]]
EXAMPLES = 3  # rows shown per side of a differing table
ROW_CHARS = 240  # a row's text is cut here (documents can be long)

# Each table's primary key: its leading columns (the schema in tables.py puts them first),
# named so a human can find a reported row. A table not listed is keyed by its first column.
KEYS: dict[str, tuple[str, ...]] = {
    "positions": ("consumer",),
    "customers": ("customer_id",),
    "identities": ("dealership_id", "kind", "value"),
    "timeline": ("seq",),
    "consents": ("seq",),
    "complaints": ("dealership_id", "complaint_id"),
    "followups": ("dealership_id", "follow_up_id"),
    "followup_days": ("dealership_id", "day", "advisor_id", "department", "status"),
    "followup_hours": ("dealership_id", "hour", "advisor_id", "department", "status"),
    "referrals": ("dealership_id", "referral_id"),
    "vehicles": ("dealership_id", "vin"),
    "merges": ("dealership_id", "merge_event_id"),
    "surveys": ("event_id",),
    "purchases": ("event_id",),
    "signals": ("event_id",),
    "refs": ("dealership_id", "ref"),
    "failures": ("seq",),
}


@dataclass(frozen=True)
class TableDiff:
    """A table whose rows differ: the rows only the live store has, and only the rebuilt."""

    table: str
    live_rows: int
    rebuilt_rows: int
    only_live: list[tuple[Any, ...]]
    only_rebuilt: list[tuple[Any, ...]]

    def key(self, row: tuple[Any, ...]) -> str:
        names = KEYS.get(self.table, ("first column",))
        return " ".join(f"{name}={value!r}" for name, value in zip(names, row, strict=False))

    def lines(self, examples: int = EXAMPLES) -> list[str]:
        """The difference for a human: counts, then a few rows of each side by their key."""
        lines = [
            f"table {self.table} (rows: live {self.live_rows}, rebuilt {self.rebuilt_rows}):"
            f" {len(self.only_live)} only in live, {len(self.only_rebuilt)} only in rebuilt"
        ]
        for side, rows in (
            ("only in live", self.only_live),
            ("only in rebuilt", self.only_rebuilt),
        ):
            for row in rows[:examples]:
                text = repr(row)
                text = text if len(text) <= ROW_CHARS else text[: ROW_CHARS - 3] + "..."
                lines.append(f"  {side}: {self.key(row)}: {text}")
        return lines


def _rows(table: str, dump: Dump) -> list[tuple[Any, ...]]:
    rows = dump.get(table, [])
    if table == "positions":  # no row and a row at 0 are the same position
        rows = [row for row in rows if row[1] != 0]
    return rows


def compare_dumps(live: Dump, rebuilt: Dump) -> list[TableDiff]:
    """Every table of either dump whose rows differ (a changed row is on both sides)."""
    differing: list[TableDiff] = []
    for table in dict.fromkeys([*live, *rebuilt]):
        mine, theirs = _rows(table, live), _rows(table, rebuilt)
        if mine == theirs:
            continue
        only_live = Counter(mine) - Counter(theirs)
        only_rebuilt = Counter(theirs) - Counter(mine)
        differing.append(
            TableDiff(
                table,
                len(mine),
                len(theirs),
                sorted(only_live.elements(), key=repr),
                sorted(only_rebuilt.elements(), key=repr),
            )
        )
    return differing


def compare_stores(live: ReadStore, rebuilt: ReadStore) -> list[TableDiff]:
    """The tables in which the live store differs from the rebuilt one."""
    return compare_dumps(live.dump(), rebuilt.dump())


def describe(differing: list[TableDiff], examples: int = EXAMPLES) -> str:
    return "\n".join(line for diff in differing for line in diff.lines(examples))
