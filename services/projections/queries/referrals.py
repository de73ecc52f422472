"""Referrals: one referral with its claims, checks, callback, verdict and reward."""

from __future__ import annotations

from services.projections.models import (
    CallbackPublic,
    CheckPublic,
    ClaimPublic,
    ReferralPublic,
    RejectionPublic,
    RewardPublic,
)
from services.projections.store import ReadStore
from services.projections.tables import REFERRALS, parse_ts


def referral(store: ReadStore, dealership_id: str, referral_id: str) -> ReferralPublic | None:
    row = store.doc(REFERRALS, dealership_id, referral_id)
    if row is None:
        return None
    doc = row["doc"]
    claim = doc["claims"][-1]
    callback = doc["callback"]
    reward = doc["reward"]
    rejection = doc["rejection"]
    return ReferralPublic(
        referral_id=referral_id,
        dealership_id=dealership_id,
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
