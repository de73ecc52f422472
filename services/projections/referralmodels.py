"""Response models of a referral (`GET /v1/referrals/{referral_id}`, the referral list and
a person's export), beside models.py's."""

from __future__ import annotations

from datetime import datetime

from services.projections.models import Public, Verdict


class ReferrerPublic(Public):
    name: str
    phone: str
    vehicle_model: str
    vehicle_colour: str


class ClaimPublic(Public):
    at: datetime
    referrer: ReferrerPublic
    vin: str | None
    source: str


class CheckPublic(Public):
    name: str
    passed: bool
    at: datetime
    detail: str | None


class CallbackPublic(Public):
    at: datetime
    questions: int
    wrong: int


class RejectionPublic(Public):
    at: datetime
    reason: str
    detail: str | None


class RewardPublic(Public):
    at: datetime
    kind: str
    amount_cny: float
    referrer_customer_id: str


class ReferralPublic(Public):
    referral_id: str
    dealership_id: str
    referee_customer_id: str
    referrer_customer_id: str | None
    claimed_at: datetime
    claim: ClaimPublic
    claims: int
    checks: list[CheckPublic]
    callback: CallbackPublic | None
    verdict: Verdict
    rejection: RejectionPublic | None
    reward: RewardPublic | None
