"""The referrals read model: claims, the checks, callback answers, the verdict, rewards."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from events import (
    ReferralCallbackAnswered,
    ReferralClaimed,
    ReferralRejected,
    ReferralVerified,
    RewardGranted,
)
from services.projections.readmodels.context import Context, as_phone, money
from services.projections.tables import CUSTOMERS, REFERRALS, Row, ts

ReferralEvent: TypeAlias = (
    ReferralClaimed | ReferralCallbackAnswered | ReferralVerified | ReferralRejected | RewardGranted
)

REFERRAL_REJECTION_CHECK = {
    "registered_after_delivery": "registered_before_delivery",
    "referrer_unknown": "referrer_known",
    "referrer_vehicle_mismatch": "referrer_vehicle",
    "callback_failed": "callback",
    "already_rewarded": "referee_not_rewarded",
}
REFUSALS = {"unknown_referral", "callback_out_of_order"}


def _referral(ctx: Context, event: ReferralEvent) -> Row | None:
    row = ctx.tx.get(REFERRALS, event.dealership_id, event.referral_id)
    if row is not None:
        ctx.tx.put(REFERRALS, row)
    return row


def _check(row: Row, name: str, passed: bool, at: datetime, detail: str | None = None) -> None:
    checks: list[dict[str, Any]] = row["doc"]["checks"]
    checks[:] = [c for c in checks if c["name"] != name]
    checks.append({"name": name, "passed": passed, "at": ts(at), "detail": detail})


def on_referral_claimed(ctx: Context, event: ReferralClaimed, customer: Row) -> None:
    row = _referral(ctx, event)
    if row is None:
        row = {
            "dealership_id": event.dealership_id,
            "referral_id": event.referral_id,
            "customer_id": customer["customer_id"],
            "claimed_at": ts(event.occurred_at),
            "verdict": "pending",
            "advisor_id": customer["advisor_id"],
            "doc": {
                "claims": [],
                "checks": [],
                "callback": None,
                "rejection": None,
                "refusals": [],
                "reward": None,
                "referrer_customer_id": None,
            },
        }
        ctx.tx.put(REFERRALS, row)
    row["doc"]["claims"].append(
        {
            "at": ts(event.occurred_at),
            "event_id": str(event.event_id),
            "referrer": event.referrer.model_dump(mode="json"),
            "referrer_phone": as_phone(event.referrer.phone),
            "vin": event.vin,
            "source": event.source,
        }
    )


def on_referral_callback(ctx: Context, event: ReferralCallbackAnswered, customer: Row) -> None:
    row = _referral(ctx, event)
    if row is None:
        return
    wrong = sum(1 for q in event.questions if not q.correct)
    row["doc"]["callback"] = {
        "at": ts(event.occurred_at),
        "answers": [q.model_dump(mode="json", exclude_none=True) for q in event.questions],
        "wrong": wrong,
    }


def on_referral_verified(ctx: Context, event: ReferralVerified, customer: Row) -> None:
    row = _referral(ctx, event)
    if row is None:
        return
    row["verdict"] = "verified"
    row["doc"]["referrer_customer_id"] = event.referrer_customer_id
    for name in ("registered_before_delivery", "referrer_known", "referrer_vehicle", "callback"):
        _check(row, name, True, event.occurred_at)
    row["doc"]["verified_at"] = ts(event.occurred_at)


def on_referral_rejected(ctx: Context, event: ReferralRejected, customer: Row) -> None:
    row = _referral(ctx, event)
    if row is None:
        return
    if event.reason in REFUSALS:  # a refused message, not a verdict on the referral
        row["doc"]["refusals"].append({"at": ts(event.occurred_at), "reason": event.reason})
        return
    row["verdict"] = "rejected"
    row["doc"]["rejection"] = {
        "at": ts(event.occurred_at),
        "reason": event.reason,
        "detail": event.detail,
    }
    _check(
        row,
        REFERRAL_REJECTION_CHECK.get(event.reason, event.reason),
        False,
        event.occurred_at,
        event.detail,
    )


def on_reward(ctx: Context, event: RewardGranted, customer: Row) -> None:
    row = _referral(ctx, event)
    if row is not None:
        row["doc"]["reward"] = {
            "at": ts(event.occurred_at),
            "kind": event.kind,
            "amount_cny": money(event.amount_cny),
            "referrer_customer_id": event.referrer_customer_id,
        }
        row["verdict"] = "rewarded"
    referrer = ctx.tx.get(CUSTOMERS, ctx.canonical(event.referrer_customer_id))
    if referrer is not None:
        referrer["doc"]["stats"]["referrals_rewarded"] += 1
        ctx.tx.put(CUSTOMERS, referrer)
