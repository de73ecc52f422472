"""The referrals service's aggregates: the referrals, and its own view of the customers.

The service may not ask other services, so it keeps what it needs from RETENTION: who owns
which phone (`PhoneIndex`) and each customer's cars and referral record (`KnownCustomer`),
saved in the same transaction as the tracking position.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.referrals.rules import Check, KnownReferrer, Vehicle


def referral_aggregate_id(dealership_id: str, referral_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:referrals:referral:{dealership_id}:{referral_id}")


# Each message asks for its customer's and phones' ids several times (the run's look-ups,
# the handler, the canonical customer), and a uuid5 costs ~15 µs: remembered.
@lru_cache(maxsize=1 << 16)
def phone_index_id(dealership_id: str, phone: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:referrals:phone:{dealership_id}:{phone}")


@lru_cache(maxsize=1 << 16)
def known_customer_id(dealership_id: str, customer_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:referrals:customer:{dealership_id}:{customer_id}")


class PhoneIndex(Aggregate):
    """A normalised phone (E.164) in a dealership, and the customer it was registered to."""

    @staticmethod
    def create_id(dealership_id: str, phone: str) -> UUID:
        return phone_index_id(dealership_id, phone)

    @event("Indexed")
    def __init__(self, dealership_id: str, phone: str, customer_id: str) -> None:
        self.phone = phone
        self.customer_id = customer_id

    @event("Reassigned")
    def reassign(self, customer_id: str) -> None:
        self.customer_id = customer_id


class KnownCustomer(Aggregate):
    """A customer as the referrals service knows them: phones, cars, open claims as a
    referee, the reward received, and the record as a referrer."""

    @staticmethod
    def create_id(dealership_id: str, customer_id: str) -> UUID:
        return known_customer_id(dealership_id, customer_id)

    @event("Seen")
    def __init__(self, dealership_id: str, customer_id: str) -> None:
        self.dealership_id = dealership_id
        self.customer_id = customer_id
        self.phones: list[str] = []
        self.vehicles: dict[str, dict[str, Any]] = {}
        self.open_claims: list[str] = []  # referral ids waiting for this referee's delivery
        self.rewarded_referral: str | None = None
        self.made = 0
        self.verified = 0
        self.faked = 0
        self.merged_into: str | None = None
        self.sold: dict[str, datetime] = {}  # VIN → when it changed hands to someone else

    @event("PhoneAdded")
    def add_phone(self, phone: str) -> None:
        self.phones.append(phone)

    @event("VehiclePurchased")
    def purchase(self, vin: str, model: str, colour: str) -> None:
        record = self.vehicles.setdefault(vin, {"delivered_at": None})
        record["model"] = model
        record["colour"] = colour

    @event("VehicleDelivered")
    def deliver(self, vin: str, delivered_at: datetime) -> None:
        record = self.vehicles.setdefault(vin, {"model": None, "colour": None})
        record["delivered_at"] = delivered_at

    @event("VehicleSold")
    def sell(self, vin: str, at: datetime) -> None:
        """The car changed hands (`VehicleOwnershipChanged`): it is no longer theirs."""
        self.vehicles.pop(vin, None)
        self.sold = {**self.sold, vin: at}

    @event("VehicleAcquired")
    def acquire(
        self, vin: str, model: str | None, colour: str | None, delivered_at: datetime | None
    ) -> None:
        """A car bought from its previous owner, as their record had it."""
        self.sold = {v: at for v, at in self.sold.items() if v != vin}
        mine = self.vehicles.setdefault(vin, {"model": None, "colour": None, "delivered_at": None})
        for key, value in (("model", model), ("colour", colour), ("delivered_at", delivered_at)):
            if value is not None:
                mine[key] = value

    def sold_on(self, vin: str) -> bool:
        """The car was theirs and changed hands since: a late event of theirs about it does
        not give it back."""
        return vin in self.sold

    @event("ClaimOpened")
    def open_claim(self, referral_id: str) -> None:
        self.open_claims.append(referral_id)

    @event("ClaimClosed")
    def close_claim(self, referral_id: str) -> None:
        self.open_claims = [r for r in self.open_claims if r != referral_id]

    @event("Rewarded")
    def mark_rewarded(self, referral_id: str) -> None:
        self.rewarded_referral = referral_id

    @event("ReferralMade")
    def count_made(self) -> None:
        self.made += 1

    @event("ReferralVerified")
    def count_verified(self) -> None:
        self.verified += 1

    @event("ReferralFaked")
    def count_faked(self) -> None:
        self.faked += 1

    @event("Absorbed")
    def absorb(
        self,
        phones: list[str],
        vehicles: dict[str, dict[str, Any]],
        open_claims: list[str],
        rewarded_referral: str | None,
        made: int,
        verified: int,
        faked: int,
    ) -> None:
        """A merged duplicate's history: the survivor keeps everything."""
        self.phones += [p for p in phones if p not in self.phones]
        for vin, record in vehicles.items():
            mine = self.vehicles.setdefault(vin, {"model": None, "colour": None})
            for key, value in record.items():
                if value is not None:
                    mine[key] = value
            mine.setdefault("delivered_at", None)
        self.open_claims += [r for r in open_claims if r not in self.open_claims]
        self.rewarded_referral = self.rewarded_referral or rewarded_referral
        self.made += made
        self.verified += verified
        self.faked += faked

    @event("MergedInto")
    def merge_into(self, survivor_id: str) -> None:
        self.merged_into = survivor_id

    @event("Unmerged")
    def unmerge(self) -> None:
        self.merged_into = None

    @event("SplitOff")
    def split_off(
        self,
        phones: list[str],
        vins: list[str],
        open_claims: list[str],
        made: int,
        faked: int,
        verified: int = 0,
        rewarded_referral: str | None = None,
    ) -> None:
        """A merge undone: what the restored customer brought (as it was then) goes back.
        (`verified` and `rewarded_referral`: 0 and None in splits recorded before.)"""
        self.phones = [p for p in self.phones if p not in phones]
        for vin in vins:
            self.vehicles.pop(vin, None)
        self.open_claims = [r for r in self.open_claims if r not in open_claims]
        self.made = max(0, self.made - made)
        self.verified = max(0, self.verified - verified)
        self.faked = max(0, self.faked - faked)
        if rewarded_referral is not None and self.rewarded_referral == rewarded_referral:
            self.rewarded_referral = None  # the restored customer's reward, not ours

    def split_from(self, other: KnownCustomer) -> None:
        self.split_off(
            phones=list(other.phones),
            vins=list(other.vehicles),
            open_claims=list(other.open_claims),
            made=other.made,
            faked=other.faked,
            verified=other.verified,
            rewarded_referral=other.rewarded_referral,
        )
        other.unmerge()

    def hand_claim(self, to: KnownCustomer, referral: Referral) -> None:
        """A split: an open claim a re-attributed event made goes to the restored customer."""
        self.close_claim(referral_id=referral.referral_id)
        to.open_claim(referral_id=referral.referral_id)
        referral.restore_referee(customer_id=to.customer_id)

    def absorb_from(self, other: KnownCustomer) -> None:
        self.absorb(
            phones=list(other.phones),
            vehicles={vin: dict(record) for vin, record in other.vehicles.items()},
            open_claims=list(other.open_claims),
            rewarded_referral=other.rewarded_referral,
            made=other.made,
            verified=other.verified,
            faked=other.faked,
        )

    def vehicle_list(self) -> list[Vehicle]:
        return [
            Vehicle(vin, r.get("model"), r.get("colour"), r.get("delivered_at"))
            for vin, r in sorted(self.vehicles.items())
        ]

    def as_referrer(self) -> KnownReferrer:
        return KnownReferrer(self.customer_id, tuple(self.vehicle_list()))

    def record(self) -> dict[str, Any]:
        """The referrer's record: referrals made, verified and faked."""
        return {
            "customer_id": self.customer_id,
            "referrals_made": self.made,
            "referrals_verified": self.verified,
            "referrals_faked": self.faked,
            "rewarded_as_referee_for": self.rewarded_referral,
        }


class Referral(Aggregate):
    """One claimed referral: the claim, the checks, the callback, the verdict, the reward.

    `status`: claimed (waiting for the referee's delivery) → awaiting_callback → verified |
    rejected (a failed check may end it at any step).
    """

    @staticmethod
    def create_id(dealership_id: str, referral_id: str) -> UUID:
        return referral_aggregate_id(dealership_id, referral_id)

    @event("Claimed")
    def __init__(
        self,
        dealership_id: str,
        referral_id: str,
        referee_id: str,
        referrer: dict[str, str],
        vin: str | None,
        claimed_at: datetime,
        claim_event_id: UUID,
        received_at: datetime | None = None,
    ) -> None:
        self.dealership_id = dealership_id
        self.referral_id = referral_id
        self.referee_id = referee_id
        self.referrer = referrer  # name, phone, vehicle_model, vehicle_colour as claimed
        self.vin = vin
        self.claimed_at = claimed_at
        self.received_at = received_at  # when laoke received the claim (None: older stores)
        self.claim_event_id = claim_event_id
        self.status = "claimed"
        self.referrer_id: str | None = None
        self.checks: list[dict[str, Any]] = []
        self.callback: dict[str, Any] | None = None
        self.verdict: dict[str, Any] | None = None
        self.reward: dict[str, Any] | None = None

    @event("Checked")
    def record_check(
        self, name: str, passed: bool, reason: str | None, detail: str, at: datetime
    ) -> None:
        self.checks.append(
            {"name": name, "passed": passed, "reason": reason, "detail": detail, "at": at}
        )

    def check(self, result: Check, at: datetime) -> Check:
        self.record_check(result.name, result.passed, result.reason, result.detail, at)
        return result

    @event("ReferrerResolved")
    def resolve_referrer(self, customer_id: str) -> None:
        self.referrer_id = customer_id

    @event("RefereeRestored")
    def restore_referee(self, customer_id: str) -> None:
        """A split: the claim was the restored customer's (a re-attributed event)."""
        self.referee_id = customer_id

    @event("CallbackScheduled")
    def schedule_callback(
        self, follow_up_id: str, party: str, customer_id: str, due_at: datetime
    ) -> None:
        self.status = "awaiting_callback"
        self.callback = {
            "follow_up_id": follow_up_id,
            "party": party,
            "customer_id": customer_id,
            "due_at": due_at,
            "answered_at": None,
            "wrong": None,
            "asked": None,
        }

    @event("CallbackPlanned")
    def callback_planned(self, due_at: datetime, channel: str) -> None:
        """The contact rules planned the call (their time, e.g. out of quiet hours)."""
        assert self.callback is not None
        self.callback = {**self.callback, "due_at": due_at, "channel": channel}

    @event("CallbackSkipped")
    def callback_skipped(self, skip_reason: str, why: str) -> None:
        """The contact rules refused the call (opted out, cap, no working channel): the
        referral waits, unverified; staff see why."""
        assert self.callback is not None
        self.callback = {**self.callback, "skipped": skip_reason, "skipped_why": why}

    @event("CallbackAnswered")
    def answer_callback(self, asked: int, wrong: int, at: datetime) -> None:
        assert self.callback is not None
        self.callback = {**self.callback, "answered_at": at, "asked": asked, "wrong": wrong}

    @event("Verified")
    def verify(self, at: datetime) -> None:
        self.status = "verified"
        self.verdict = {"verified": True, "reason": None, "detail": "", "at": at}

    @event("Rejected")
    def reject(self, reason: str, detail: str, at: datetime) -> None:
        self.status = "rejected"
        self.verdict = {"verified": False, "reason": reason, "detail": detail, "at": at}

    @event("Rewarded")
    def grant_reward(self, customer_id: str, kind: str, amount_cny: Decimal, at: datetime) -> None:
        self.reward = {"customer_id": customer_id, "kind": kind, "amount_cny": amount_cny, "at": at}

    def view(self) -> dict[str, Any]:
        """Claim, checks, verdict, reward (what `GET /v1/referrals/{id}` shows)."""
        return {
            "referral_id": self.referral_id,
            "dealership_id": self.dealership_id,
            "status": self.status,
            "claim": {
                "referee_customer_id": self.referee_id,
                "referrer": dict(self.referrer),
                "vin": self.vin,
                "claimed_at": self.claimed_at,
                "received_at": self.received_at,
            },
            "referrer_customer_id": self.referrer_id,
            "checks": [dict(c) for c in self.checks],
            "callback": dict(self.callback) if self.callback else None,
            "verdict": dict(self.verdict) if self.verdict else None,
            "reward": dict(self.reward) if self.reward else None,
        }
