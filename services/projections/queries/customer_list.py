"""The customer list: a dealership's customers (survivors of merges), searched by name,
phone fragment or plate, filtered by class and by neglect; keyset-paged by customer id
(queries/paging.py; docs/projections.md, "The customer list").

`q` is matched in the `search` column (tables.py: name, phone digits, plates, lower-cased),
`neglected` against `last_touch_at` in SQL, and `class` by `CLASS_SQL` on the class columns
the projector keeps (classes.py). With `class` or `neglected` (and no `q`), a page's ids are
found first, by a subquery that reads only what its index holds: the tests run on the
entries of `customers_class` (or of the class's partial index), in the list's order, and
only the page's own rows are read from the table. (In one query SQLite took the narrow
`customers_list` index and read every candidate's row to test it: a page of a class nobody
was in read all the dealership's rows, ~150 ms of CPU at 100,000 customers.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events.fields import plate_spelling
from services.projections.classes import (
    CANDIDATES_SQL,
    CLASS_SQL,
    CustomerClass,
    class_params,
    days_since,
    neglected_up_to,
)
from services.projections.listmodels import CustomerPagePublic, CustomerSummaryPublic
from services.projections.models import CustomerClassName
from services.projections.queries import paging
from services.projections.queries.common import parse_ts_or_none, primary_phone
from services.projections.settings import ClassThresholds
from services.projections.store import ReadStore
from services.projections.tables import CUSTOMERS, Row, parse_ts, plates_of, ts

CURSOR_CHECKS = (str,)
_PHONE_LIKE = re.compile(r"[0-9\s\-().+]+")
_LIKE_SPECIAL = re.compile(r"([\\%_])")  # taken literally in a search (escaped)
_LIKE = "search LIKE ? ESCAPE '\\'"


@dataclass(frozen=True)
class CustomerList:
    """One page asked for: whose customers, which, from where."""

    dealership_id: str
    now: datetime
    limit: int
    q: str | None = None
    customer_class: CustomerClassName | None = None
    neglected: bool | None = None
    after: paging.Key | None = None  # the cursor: (customer_id,)


def patterns(q: str) -> list[str]:
    """`LIKE` patterns for a search: the text as typed, its digits when it looks like a
    phone (`138-0013` finds +8613800138000), and its plate spelling (`京a·123` finds
    京A12345), each lower-cased like the `search` column."""
    text = q.strip()
    found = [text.lower(), plate_spelling(text).lower()]
    if _PHONE_LIKE.fullmatch(text):
        found.append(re.sub(r"[^0-9]", "", text))
    escaped = (_LIKE_SPECIAL.sub(r"\\\1", p) for p in dict.fromkeys(found) if p)
    return [f"%{p}%" for p in escaped]


Found = tuple[Row, CustomerClass]  # a customer's row and its class as of the page's `now`


def _sql_rows(
    store: ReadStore,
    page: CustomerList,
    limits: ClassThresholds,
    position: paging.Key | None,
    n: int,
) -> list[Found]:
    """Up to `n` customers after the position that match the filters, by id."""
    where = ["dealership_id = ?", "merged_into IS NULL"]
    params: list[Any] = [page.dealership_id]
    likes = patterns(page.q) if page.q else []
    if likes:  # (a blank `q` searches nothing: the whole list)
        where.append(f"({' OR '.join([_LIKE] * len(likes))})")
        params += likes
    if page.customer_class is not None:
        where += [CANDIDATES_SQL[page.customer_class], f"({CLASS_SQL}) = ?"]
        params += [*class_params(page.now, limits), page.customer_class]
    if page.neglected is not None:
        cutoff = ts(neglected_up_to(page.now, limits))
        neglected = "(last_touch_at IS NULL OR last_touch_at <= ?)"
        where.append(neglected if page.neglected else "last_touch_at > ?")
        params.append(cutoff)
    rest, more = paging.after(("customer_id",), position)
    # The class as of `now` is read with the row (`CLASS_SQL` on its class columns, the test
    # the filter makes), not computed from the document: `classify` was half a page's time.
    columns = f"{', '.join(CUSTOMERS.all_columns)}, ({CLASS_SQL}) AS customer_class"
    filtered = f"FROM customers WHERE {' AND '.join(where)}"
    if likes or (page.customer_class is None and page.neglected is None):
        # Every row read is on the page, or its `search` is read anyway: one query.
        sql = f"SELECT {columns} {filtered}{rest} ORDER BY customer_id LIMIT ?"
    else:
        sql = (
            f"SELECT {columns} FROM customers WHERE customer_id IN (SELECT customer_id"
            f" {filtered}{rest} ORDER BY customer_id LIMIT ?) ORDER BY customer_id"
        )
    found = store.query(sql, (*class_params(page.now, limits), *params, *more, n))
    return [(store.row_of(CUSTOMERS, r[:-1]), r[-1]) for r in found]


def _fetch(store: ReadStore, page: CustomerList, limits: ClassThresholds) -> paging.Fetch:
    def fetch(position: paging.Key | None, n: int) -> list[Found]:
        return _sql_rows(store, page, limits, position, n)

    return fetch


def _key(item: Found) -> paging.Key:
    return (item[0]["customer_id"],)


def summary(item: Found, now: datetime, limits: ClassThresholds) -> CustomerSummaryPublic:
    row, customer_class = item
    doc, last = row["doc"], row["last_touch_at"]
    return CustomerSummaryPublic(
        customer_id=row["customer_id"],
        dealership_id=row["dealership_id"],
        name=doc["name"],
        phone=primary_phone(doc),
        phones=list(doc["phones"]),
        plates=plates_of(doc),
        vins=sorted(doc["vehicles"]),
        customer_class=customer_class,
        advisor_id=row["advisor_id"],
        first_seen_at=parse_ts(doc["first_seen_at"]),
        last_touch_at=parse_ts_or_none(last),
        days_since_last_touchpoint=days_since(last, now),
        neglected=last is None or last <= ts(neglected_up_to(now, limits)),
        open_complaints=doc["stats"]["open_complaints"],
        spend_cny=doc["stats"]["spend_cny"],
    )


def customer_list(
    store: ReadStore, page: CustomerList, limits: ClassThresholds
) -> CustomerPagePublic:
    found, next_cursor = paging.page(_fetch(store, page, limits), _key, page.after, page.limit)
    return CustomerPagePublic(
        dealership_id=page.dealership_id,
        q=page.q,
        customer_class=page.customer_class,
        neglected=page.neglected,
        neglect_days=limits.recency_days,
        as_of=page.now,
        count=len(found),
        items=[summary(item, page.now, limits) for item in found],
        next_cursor=next_cursor,
    )


def customer_chunks(
    store: ReadStore, page: CustomerList, limits: ClassThresholds, size: int
) -> Iterator[list[dict[str, Any]]]:
    """Every customer of the list from the page's cursor on, as the JSON page's items,
    `size` at a time (CSV)."""
    for found in paging.chunks(_fetch(store, page, limits), _key, page.after, size):
        yield [summary(item, page.now, limits).model_dump(mode="json") for item in found]
