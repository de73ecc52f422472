"""Identity reads: one vehicle by VIN (owners over time, services); the merge list, newest
first (keyset-paged, queries/paging.py), each with its evidence and split."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from laoke.merges import survivor
from services.projections.identitymodels import (
    MergeEvidencePublic,
    MergeListPublic,
    MergePublic,
    MergeSplitPublic,
    VehicleOwnerPublic,
    VehiclePublic,
    VehicleServicePublic,
)
from services.projections.queries import paging
from services.projections.store import ReadStore
from services.projections.tables import CUSTOMERS, MERGES, VEHICLES, Row, parse_ts


def _canonical(store: ReadStore, customer_id: str) -> str:
    def merged_into(candidate: str) -> str | None:
        row = store.doc(CUSTOMERS, candidate)
        return row["merged_into"] if row is not None else None

    return survivor(customer_id, merged_into)


def vehicle(store: ReadStore, dealership_id: str, vin: str) -> VehiclePublic | None:
    row = store.doc(VEHICLES, dealership_id, vin)
    if row is None:
        return None
    owners = row["doc"]["owners"]
    return VehiclePublic(
        dealership_id=dealership_id,
        vin=vin,
        owner_id=_canonical(store, row["owner_id"]) if row["owner_id"] else None,
        owners=[
            VehicleOwnerPublic(
                customer_id=_canonical(store, o["customer_id"]),
                since=parse_ts(o["since"]) if o["since"] else None,
                until=parse_ts(owners[i + 1]["since"]) if i + 1 < len(owners) else None,
            )
            for i, o in enumerate(owners)
        ],
        services=[
            VehicleServicePublic.model_validate(
                {**s, "at": parse_ts(s["at"]), "customer_id": _canonical(store, s["customer_id"])}
            )
            for s in row["doc"]["services"]
        ],
    )


@dataclass(frozen=True)
class MergeList:
    dealership_id: str
    now: datetime
    limit: int
    after: paging.Key | None = None  # the cursor: (merged_at as stored, merge_event_id)


CURSOR_CHECKS = (parse_ts, str)


def _rows(store: ReadStore, page: MergeList, position: paging.Key | None, n: int) -> list[Row]:
    """Up to `n` merges after the position, newest first (index `merges_list`, backwards)."""
    rest, more = "", ()  # type: tuple[str, paging.Key]
    if position is not None:
        rest, more = " AND (merged_at, merge_event_id) < (?, ?)", position
    found = store.query(
        f"SELECT {', '.join(MERGES.all_columns)} FROM merges WHERE dealership_id = ?{rest}"
        " ORDER BY merged_at DESC, merge_event_id DESC LIMIT ?",
        (page.dealership_id, *more, n),
    )
    return [store.row_of(MERGES, r) for r in found]


def _key(row: Row) -> paging.Key:
    return row["merged_at"], row["merge_event_id"]


def merge_list(store: ReadStore, page: MergeList) -> MergeListPublic:
    def fetch(position: paging.Key | None, n: int) -> list[Row]:
        return _rows(store, page, position, n)

    rows, next_cursor = paging.page(fetch, _key, page.after, page.limit)
    return MergeListPublic(
        dealership_id=page.dealership_id,
        as_of=page.now,
        count=len(rows),
        items=[merge_public(row) for row in rows],
        next_cursor=next_cursor,
    )


def merge_chunks(store: ReadStore, page: MergeList, size: int) -> Iterator[list[dict[str, Any]]]:
    def fetch(position: paging.Key | None, n: int) -> list[Row]:
        return _rows(store, page, position, n)

    for rows in paging.chunks(fetch, _key, page.after, size):
        yield [merge_public(row).model_dump(mode="json") for row in rows]


def merge_public(row: Row) -> MergePublic:
    doc = row["doc"]
    split = doc["split"]
    return MergePublic(
        merge_event_id=row["merge_event_id"],
        dealership_id=row["dealership_id"],
        merged_at=parse_ts(row["merged_at"]),
        survivor_id=row["survivor_id"],
        merged_ids=doc["merged_ids"],
        because=doc["because"],
        evidence=[MergeEvidencePublic.model_validate(e) for e in doc["evidence"]],
        cause_event_id=doc["cause_event_id"],
        split=MergeSplitPublic(
            at=parse_ts(split["at"]),
            requested_by=split["requested_by"],
            reason=split["reason"],
            restored_ids=split["restored_ids"],
        )
        if split
        else None,
    )
