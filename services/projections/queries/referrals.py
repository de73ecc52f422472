"""Referrals: one referral with its claims, checks, callback, verdict and reward; the
referral list (by verdict; keyset-paged, queries/paging.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.projections.listmodels import ReferralListPublic
from services.projections.models import Verdict
from services.projections.queries import paging
from services.projections.referralmodels import (
    CallbackPublic,
    CheckPublic,
    ClaimPublic,
    ReferralPublic,
    RejectionPublic,
    RewardPublic,
)
from services.projections.store import ReadStore
from services.projections.tables import REFERRALS, Row, parse_ts


@dataclass(frozen=True)
class ReferralList:
    """One page asked for: whose referrals, of which verdict, from where."""

    dealership_id: str
    now: datetime
    limit: int
    status: Verdict | None = None
    after: paging.Key | None = None  # the cursor: (claimed_at as stored, referral_id)


CURSOR_CHECKS = (parse_ts, str)


def _rows(store: ReadStore, page: ReferralList, position: paging.Key | None, n: int) -> list[Row]:
    """Up to `n` referrals after the position, oldest claim first (index `referrals_list`, or
    `referrals_list_verdict` for one verdict)."""
    where, params = "dealership_id = ?", [page.dealership_id]
    if page.status is not None:
        where += " AND verdict = ?"
        params.append(page.status)
    rest, more = paging.after(("claimed_at", "referral_id"), position)
    found = store.query(
        f"SELECT {', '.join(REFERRALS.all_columns)} FROM referrals WHERE {where}{rest}"
        " ORDER BY claimed_at, referral_id LIMIT ?",
        (*params, *more, n),
    )
    return [store.row_of(REFERRALS, r) for r in found]


def _key(row: Row) -> paging.Key:
    return row["claimed_at"], row["referral_id"]


def referral_list(store: ReadStore, page: ReferralList) -> ReferralListPublic:
    def fetch(position: paging.Key | None, n: int) -> list[Row]:
        return _rows(store, page, position, n)

    rows, next_cursor = paging.page(fetch, _key, page.after, page.limit)
    return ReferralListPublic(
        dealership_id=page.dealership_id,
        status=page.status,
        as_of=page.now,
        count=len(rows),
        items=[referral_public(row) for row in rows],
        next_cursor=next_cursor,
    )


def referral_chunks(
    store: ReadStore, page: ReferralList, size: int
) -> Iterator[list[dict[str, Any]]]:
    """Every referral of the list from the page's cursor on, as the JSON page's items,
    `size` at a time (CSV)."""

    def fetch(position: paging.Key | None, n: int) -> list[Row]:
        return _rows(store, page, position, n)

    for rows in paging.chunks(fetch, _key, page.after, size):
        yield [referral_public(row).model_dump(mode="json") for row in rows]


def referral(store: ReadStore, dealership_id: str, referral_id: str) -> ReferralPublic | None:
    row = store.doc(REFERRALS, dealership_id, referral_id)
    return None if row is None else referral_public(row)


def referral_public(row: Row) -> ReferralPublic:
    doc = row["doc"]
    claim = doc["claims"][-1]
    callback = doc["callback"]
    reward = doc["reward"]
    rejection = doc["rejection"]
    return ReferralPublic(
        referral_id=row["referral_id"],
        dealership_id=row["dealership_id"],
        referee_customer_id=row["customer_id"],
        referrer_customer_id=doc["referrer_customer_id"]
        or (reward["referrer_customer_id"] if reward else None),
        claimed_at=parse_ts(row["claimed_at"]),
        claim=ClaimPublic(
            at=parse_ts(claim["at"]),
            referrer=claim["referrer"],
            vin=claim["vin"],
            source=claim["source"],
        ),
        claims=len(doc["claims"]),
        checks=[
            CheckPublic(
                name=c["name"], passed=c["passed"], at=parse_ts(c["at"]), detail=c["detail"]
            )
            for c in doc["checks"]
        ],
        callback=CallbackPublic(
            at=parse_ts(callback["at"]), questions=len(callback["answers"]), wrong=callback["wrong"]
        )
        if callback
        else None,
        verdict=row["verdict"],
        rejection=RejectionPublic(
            at=parse_ts(rejection["at"]), reason=rejection["reason"], detail=rejection["detail"]
        )
        if rejection
        else None,
        reward=RewardPublic(
            at=parse_ts(reward["at"]),
            kind=reward["kind"],
            amount_cny=reward["amount_cny"],
            referrer_customer_id=reward["referrer_customer_id"],
        )
        if reward
        else None,
    )
