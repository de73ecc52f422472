"""Follow-ups: the call centre's work list, as models and on its fast path (JSON without
models).

One query per page: the follow-ups of the status and filters asked for, in (due time, id)
order from an index (tables.py), each joined to its customer's row for the name, phone,
class and vehicles (docs/projections.md, "The work list"). The customer's class comes from
the class columns the projector keeps (`CLASS_SQL`, as the customer list's filter and the
class counts read it), not from classifying its document: that was half a page's time.
Pages are cut by keyset: the cursor is the last item's (due time, id), and the next page
starts after it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import from_json, to_json

from services.projections.classes import CLASS_SQL, class_params
from services.projections.models import (
    FollowUpCustomerPublic,
    FollowUpListPublic,
    FollowUpPublic,
    FollowUpStatus,
    FollowUpVehiclePublic,
)
from services.projections.queries import paging
from services.projections.queries.common import parse_ts_or_none, primary_phone
from services.projections.settings import ClassThresholds
from services.projections.store import ReadStore
from services.projections.tables import parse_ts, ts

# What each status asks of a row; `?` is `ts(now)`. Every stored follow-up has a due time
# (the read model gives one without a plan its done or skip time).
_STATUS_WHERE: dict[str, str] = {
    # An open contact past its useful life is left out before outreach records its expiry
    # (`FollowUpExpired`; outreach may be working through a backlog): `now` twice.
    "due": "f.status = 'open' AND f.due_at <= ? AND (f.expires_at IS NULL OR f.expires_at > ?)",
    "upcoming": "f.status = 'open' AND f.due_at > ?",
    "overdue": "f.status = 'open' AND f.due_at < ? AND (f.expires_at IS NULL OR f.expires_at > ?)",
    "done": "f.status = 'done' AND f.due_at IS NOT NULL",
    "skipped": "f.status = 'skipped' AND f.due_at IS NOT NULL",
    "expired": "f.status = 'expired' AND f.due_at IS NOT NULL",
}
FOLLOWUP_COLUMNS = (
    "f.follow_up_id",
    "f.customer_id",
    "f.status",
    "f.due_at",
    "f.done_at",
    "f.reason",
    "f.advisor_id",
    "f.department",
    "f.channel",
    "f.doc",
    f"{CLASS_SQL} AS customer_class",  # of the customer's row: `class_params` come first
    "c.doc",
)
_NAMES = tuple(c.removeprefix("f.") for c in FOLLOWUP_COLUMNS[:-2])  # the follow-up's own
_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


@dataclass(frozen=True)
class WorkList:
    """One page asked for: whose list, which items, from where."""

    dealership_id: str
    status: FollowUpStatus
    now: datetime
    limit: int
    advisor_id: str | None = None
    reason: str | None = None
    channel: str | None = None
    after: paging.Key | None = None  # the cursor: (due_at as stored, follow_up_id)


CURSOR_CHECKS = (parse_ts, str)


def encode_cursor(due_at: str, follow_up_id: str) -> str:
    """The position after an item, opaque to callers (queries/paging.py)."""
    return paging.encode_cursor(due_at, follow_up_id)


def decode_cursor(cursor: str) -> tuple[str, str]:
    """`encode_cursor`'s position back; ValueError for anything it did not write."""
    due_at, follow_up_id = paging.decode_cursor(cursor, *CURSOR_CHECKS)
    return due_at, follow_up_id


def _rows(
    store: ReadStore, page: WorkList, limits: ClassThresholds, position: paging.Key | None, n: int
) -> list[Any]:
    """Up to `n` of the list's rows after the position, in its order."""
    where = ["f.dealership_id = ?", _STATUS_WHERE[page.status]]
    params: list[Any] = [page.dealership_id]
    params += [ts(page.now)] * _STATUS_WHERE[page.status].count("?")
    for column, value in (
        ("advisor_id", page.advisor_id),
        ("reason", page.reason),
        ("channel", page.channel),
    ):
        if value is not None:
            where.append(f"f.{column} = ?")
            params.append(value)
    rest, more = paging.after(("f.due_at", "f.follow_up_id"), position)
    return store.query(
        f"SELECT {', '.join(FOLLOWUP_COLUMNS)} FROM followups f"
        " LEFT JOIN customers c ON c.customer_id = f.customer_id"
        f" WHERE {' AND '.join(where)}{rest} ORDER BY f.due_at, f.follow_up_id LIMIT ?",
        (*class_params(page.now, limits), *params, *more, n),
    )


def _key(row: Sequence[Any]) -> paging.Key:
    return row[3], row[0]


def _cut(store: ReadStore, page: WorkList, limits: ClassThresholds) -> tuple[list[Any], str | None]:
    def fetch(position: paging.Key | None, n: int) -> list[Any]:
        return _rows(store, page, limits, position, n)

    return paging.page(fetch, _key, page.after, page.limit)


def item_status(stored: str, due_at: str | None, stamp: str) -> FollowUpStatus:
    """An item's status as of `stamp` (`ts(now)`)."""
    if stored == "done":
        return "done"
    if stored == "skipped":
        return "skipped"
    if stored == "expired":
        return "expired"
    if due_at is None or due_at > stamp:
        return "upcoming"
    return "overdue" if due_at < stamp else "due"


class _Customers:
    """The page's customers, each decoded once (a customer may have several follow-ups on a
    page)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {}

    def get(
        self, customer_id: str, customer_class: str, text: str | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The item's `customer` object, and the customer's vehicles by VIN."""
        found = self._seen.get(customer_id)
        if found is None:
            found = self._seen[customer_id] = _decode(customer_id, customer_class, text)
        return found


def _decode(
    customer_id: str, customer_class: str, text: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    if text is None:
        return None, {}
    doc = from_json(text)
    customer = {
        "customer_id": customer_id,
        "name": doc["name"],
        "phone": primary_phone(doc),
        "customer_class": customer_class,
    }
    return customer, doc["vehicles"]


def vehicle(
    doc: dict[str, Any], vehicles: dict[str, Any], detail: dict[str, Any]
) -> dict[str, Any] | None:
    """The item's `vehicle` object: the follow-up's VIN, with the model and plate the
    customer's record holds (else the model the follow-up's detail names)."""
    vin = doc.get("vin") or detail.get("vin")
    if not vin:
        return None
    known = vehicles.get(vin) or {}
    return {
        "vin": vin,
        "model": known.get("model") or detail.get("model"),
        "plate": known.get("plate"),
    }


# The work list's fast path. A page is up to 5,000 follow-ups: validating each as a
# `FollowUpPublic` cost half of the request and made most of the garbage whose collections
# set the p99. Here each row becomes a plain dict of JSON values (documents decoded by
# pydantic-core's parser, twice as fast as `json`), and the page is written by
# pydantic-core's serialiser, the one `model_dump_json` uses: the same bytes as the models
# would give (tests/projections/test_worklist_fastpath.py checks it).


def public_ts(stored: str | None) -> str | None:
    """A stored timestamp as pydantic writes the aware datetime it stands for (`Z`, and no
    fraction when the microseconds are 0), without parsing it when it has `ts()`'s shape."""
    if stored is None:
        return None
    if len(stored) == 27 and stored[19] == "." and stored[26] == "Z":
        return f"{stored[:19]}Z" if stored.endswith(".000000Z") else stored
    return str(_DATETIME.dump_python(parse_ts(stored), mode="json"))


def followup_item(values: Sequence[Any], stamp: str, customers: _Customers) -> dict[str, Any]:
    """One `FOLLOWUP_COLUMNS` row as `FollowUpPublic`'s JSON object (same keys, same order,
    same values as `_followup`); `stamp` is `ts(now)`."""
    (follow_up_id, customer_id, stored, due_at, done_at, reason, advisor, dept, channel, text,
     customer_class, customer_text) = values  # fmt: skip
    doc = from_json(text)
    get = doc.get
    detail = get("detail", {})
    customer, vehicles = customers.get(customer_id, customer_class, customer_text)
    return {
        "follow_up_id": follow_up_id,
        "customer_id": customer_id,
        "customer": customer,
        "vehicle": vehicle(doc, vehicles, detail),
        "status": item_status(stored, due_at, stamp),
        "reason": reason,
        "channel": channel,
        "due_at": public_ts(due_at),
        "expires_at": public_ts(get("expires_at")),
        "done_at": public_ts(done_at),
        "outcome": get("outcome"),
        "satisfaction": get("satisfaction"),
        "skip_reason": get("skip_reason"),
        "rules_applied": get("rules_applied", []),
        "detail": detail,
        "priority": get("priority") or 0,
        "complaint_id": get("complaint_id"),
        "referral_id": get("referral_id"),
        "survey_id": get("survey_id"),
        "advisor_id": advisor,
        "department": dept,
    }


def followup_list_json(store: ReadStore, page: WorkList, limits: ClassThresholds) -> bytes:
    """The work list page (`FollowUpListPublic`) as JSON, without building its models."""
    rows, next_cursor = _cut(store, page, limits)
    stamp = ts(page.now)
    customers = _Customers()
    items = [followup_item(r, stamp, customers) for r in rows]
    answer = {
        "dealership_id": page.dealership_id,
        "status": page.status,
        "as_of": _DATETIME.dump_python(page.now, mode="json"),
        "count": len(items),
        "items": items,
        "next_cursor": next_cursor,
    }
    return to_json(answer)


def followup_chunks(
    store: ReadStore, page: WorkList, limits: ClassThresholds, size: int
) -> Iterator[list[dict[str, Any]]]:
    """Every item of the list from the page's cursor on, as the JSON page's items, `size` at
    a time (CSV: each chunk is read when the one before is written)."""
    stamp = ts(page.now)

    def fetch(position: paging.Key | None, n: int) -> list[Any]:
        return _rows(store, page, limits, position, n)

    for rows in paging.chunks(fetch, _key, page.after, size):
        customers = _Customers()  # per chunk: memory stays flat
        yield [followup_item(r, stamp, customers) for r in rows]


# The reference: the same page as validated models, which `followup_list_json` must equal.


def followup_list(store: ReadStore, page: WorkList, limits: ClassThresholds) -> FollowUpListPublic:
    rows, next_cursor = _cut(store, page, limits)
    customers = _Customers()
    items = [_followup(r, ts(page.now), customers) for r in rows]
    return FollowUpListPublic(
        dealership_id=page.dealership_id,
        status=page.status,
        as_of=page.now,
        count=len(items),
        items=items,
        next_cursor=next_cursor,
    )


def followups_of(
    store: ReadStore, customer_id: str, now: datetime, limits: ClassThresholds
) -> list[FollowUpPublic]:
    """Every follow-up of a surviving customer, whatever its status, by due time (a person's
    export)."""
    rows = store.query(
        f"SELECT {', '.join(FOLLOWUP_COLUMNS)} FROM followups f"
        " LEFT JOIN customers c ON c.customer_id = f.customer_id"
        " WHERE f.customer_id = ? ORDER BY COALESCE(f.due_at, ''), f.follow_up_id",
        (*class_params(now, limits), customer_id),
    )
    customers = _Customers()
    return [_followup(r, ts(now), customers) for r in rows]


def _followup(values: Sequence[Any], stamp: str, customers: _Customers) -> FollowUpPublic:
    row = dict(zip(_NAMES, values[:-2], strict=True))
    doc = json.loads(row["doc"])
    customer, vehicles = customers.get(row["customer_id"], values[-2], values[-1])
    found = vehicle(doc, vehicles, doc.get("detail", {}))
    return FollowUpPublic(
        follow_up_id=row["follow_up_id"],
        customer_id=row["customer_id"],
        customer=FollowUpCustomerPublic.model_validate(customer) if customer else None,
        vehicle=FollowUpVehiclePublic.model_validate(found) if found else None,
        status=item_status(row["status"], row["due_at"], stamp),
        reason=row["reason"],
        channel=row["channel"],
        due_at=parse_ts_or_none(row["due_at"]),
        expires_at=parse_ts_or_none(doc.get("expires_at")),
        done_at=parse_ts_or_none(row["done_at"]),
        outcome=doc.get("outcome"),
        satisfaction=doc.get("satisfaction"),
        skip_reason=doc.get("skip_reason"),
        rules_applied=doc.get("rules_applied", []),
        detail=doc.get("detail", {}),
        priority=doc.get("priority") or 0,
        complaint_id=doc.get("complaint_id"),
        referral_id=doc.get("referral_id"),
        survey_id=doc.get("survey_id"),
        advisor_id=row["advisor_id"],
        department=row["department"],
    )
