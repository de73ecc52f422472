"""The referral rules, pure: no I/O, no clock (times are passed in).

1. Registered before delivery: laoke must have received the claim before the delivery of the
   referee's car, and the claim must say it was made before the car was delivered (a
   sender's clock can make a claim late, never early: docs/domain.md "Referrals").
2. At delivery the referrer must be a known customer owning a car of the claimed model and
   colour.
3. A callback to one of the two parties, drawn from a seed (reproducible), asks 3–4
   questions; two or more wrong answers make the referral fake.
4. One referee is rewarded once, whatever the number of claims.

The checks answer a `Check`; the verdicts (`reject`, `refuse`, `schedule_callback`,
`reward`) record the outcome on the aggregates (aggregates.py) and return the decisions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid5

from events import (
    ContactRequested,
    Event,
    ReferralCallbackAnswered,
    ReferralRejected,
    ReferralVerified,
    RewardGranted,
)
from events.recorded import Party, ReferralRejection
from laoke.decisions import decision
from services.referrals.settings import Policy

if TYPE_CHECKING:  # aggregates.py imports this module's value types
    from services.referrals.aggregates import KnownCustomer, Referral

SERVICE = "referrals"

MAX_WRONG_ANSWERS = 1
"""Two or more wrong answers mean the referral is fake (docs/domain.md "Referrals")."""

REGISTERED_BEFORE_DELIVERY = "registered_before_delivery"
REFERRER_KNOWN = "referrer_known"
REFERRER_VEHICLE = "referrer_vehicle"
CALLBACK = "callback"
REFEREE_NOT_REWARDED = "referee_not_rewarded"


@dataclass(frozen=True)
class Vehicle:
    vin: str
    model: str | None = None
    colour: str | None = None
    delivered_at: datetime | None = None

    def describe(self) -> str:
        return f"{self.colour or '?'} {self.model or '?'} ({self.vin})"


@dataclass(frozen=True)
class Check:
    """One check of a referral: passed, or failed with the rejection reason and why."""

    name: str
    passed: bool
    reason: ReferralRejection | None = None
    detail: str = ""

    @classmethod
    def ok(cls, name: str, detail: str = "") -> Check:
        return cls(name, True, None, detail)

    @classmethod
    def failed(cls, name: str, reason: ReferralRejection, detail: str) -> Check:
        return cls(name, False, reason, detail)


def same_text(a: str | None, b: str | None) -> bool:
    """Model and colour compare case-insensitively, trimmed, inner spaces collapsed."""
    if a is None or b is None:
        return False
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def concerned(vehicles: Iterable[Vehicle], claim_vin: str | None) -> list[Vehicle]:
    """The referee's cars the claim is about: the claimed VIN, or any car without one."""
    if claim_vin is not None:
        return [v for v in vehicles if v.vin == claim_vin.upper()]
    return list(vehicles)


def delivery_concerns(claim_vin: str | None, delivered_vin: str) -> bool:
    return claim_vin is None or claim_vin.upper() == delivered_vin.upper()


def check_registered_before_delivery(
    claimed_at: datetime, referee_vehicles: Iterable[Vehicle], claim_vin: str | None
) -> Check:
    """Rule 1: a car of the claim delivered at or before the claim makes it invalid (a
    referral first mentioned at delivery is not a referral)."""
    for vehicle in concerned(referee_vehicles, claim_vin):
        if vehicle.delivered_at is not None and vehicle.delivered_at <= claimed_at:
            return Check.failed(
                REGISTERED_BEFORE_DELIVERY,
                "registered_after_delivery",
                f"{vehicle.vin} delivered {vehicle.delivered_at.isoformat()}, "
                f"claim made {claimed_at.isoformat()}",
            )
    return Check.ok(REGISTERED_BEFORE_DELIVERY)


def check_received_before_delivery(
    referee_vehicles: Iterable[Vehicle], claim_vin: str | None, claimed_at: datetime
) -> Check:
    """Rule 1 by the order laoke received things: `referee_vehicles` are the referee's cars
    as known when the claim arrived, so a delivery among them came first, whatever the
    claim's `occurred_at` says (a backdated claim does not become valid)."""
    for vehicle in concerned(referee_vehicles, claim_vin):
        if vehicle.delivered_at is not None:
            return Check.failed(
                REGISTERED_BEFORE_DELIVERY,
                "registered_after_delivery",
                f"{vehicle.vin}'s delivery ({vehicle.delivered_at.isoformat()}) reached laoke "
                f"before the claim (dated {claimed_at.isoformat()})",
            )
    return check_registered_before_delivery(claimed_at, referee_vehicles, claim_vin)


@dataclass(frozen=True)
class KnownReferrer:
    customer_id: str
    vehicles: tuple[Vehicle, ...]


def check_referrer_known(
    referrer: KnownReferrer | None, referee_customer_id: str, phone: str
) -> Check:
    """Rule 2a: the referrer's phone resolves to a known customer other than the referee."""
    if referrer is None:
        return Check.failed(REFERRER_KNOWN, "referrer_unknown", f"no customer with phone {phone}")
    if referrer.customer_id == referee_customer_id:
        return Check.failed(REFERRER_KNOWN, "referrer_unknown", "the referee named themself")
    return Check.ok(REFERRER_KNOWN, referrer.customer_id)


def check_referrer_vehicle(
    referrer: KnownReferrer, model: str, colour: str, must_be_delivered: bool
) -> Check:
    """Rule 2b: one of the referrer's cars matches the claimed model and colour (the
    licence the showroom manager checks, so delivered unless the dealership says not)."""
    for vehicle in referrer.vehicles:
        if must_be_delivered and vehicle.delivered_at is None:
            continue
        if same_text(vehicle.model, model) and same_text(vehicle.colour, colour):
            return Check.ok(REFERRER_VEHICLE, vehicle.vin)
    known = ", ".join(v.describe() for v in referrer.vehicles) or "none"
    return Check.failed(
        REFERRER_VEHICLE,
        "referrer_vehicle_mismatch",
        f"claimed {colour} {model}; referrer's cars: {known}"[:4000],
    )


def callback_party(seed: str, dealership_id: str, referral_id: str) -> Party:
    """Rule 3: who is called, "at random" but the same every time for the same seed."""
    digest = hashlib.sha256(f"{seed}\x00{dealership_id}\x00{referral_id}".encode()).digest()
    return "referrer" if digest[0] % 2 == 0 else "referee"


def check_callback(answers_correct: Sequence[bool]) -> Check:
    """Rule 3: two or more wrong answers mean the referral is fake."""
    wrong = sum(1 for correct in answers_correct if not correct)
    detail = f"{wrong} of {len(answers_correct)} answers wrong"
    if wrong > MAX_WRONG_ANSWERS:
        return Check.failed(CALLBACK, "callback_failed", detail)
    return Check.ok(CALLBACK, detail)


def check_referee_not_rewarded(rewarded_referral: str | None, referral_id: str) -> Check:
    """Rule 4: one reward per referee, whatever the number of claims."""
    if rewarded_referral is not None and rewarded_referral != referral_id:
        return Check.failed(
            REFEREE_NOT_REWARDED,
            "already_rewarded",
            f"referee already rewarded for referral {rewarded_referral}",
        )
    return Check.ok(REFEREE_NOT_REWARDED)


# -- verdicts: the outcome on the aggregates, and the decisions ----------------------------


def reject(
    referral: Referral, referee: KnownCustomer, check: Check, cause: Event, at: Any
) -> Event:
    """A failed check rejects the referral (and closes the referee's open claim)."""
    assert check.reason is not None
    referral.reject(reason=check.reason, detail=check.detail, at=at)
    if referral.referral_id in referee.open_claims:
        referee.close_claim(referral_id=referral.referral_id)
    return decision(
        ReferralRejected,
        cause,
        source=SERVICE,
        occurred_at=cause.occurred_at,
        name=referral.referral_id,
        customer_id=referee.customer_id,
        referral_id=referral.referral_id,
        reason=check.reason,
        detail=check.detail,
    )


def refuse(event: ReferralCallbackAnswered, reason: ReferralRejection, why: str) -> Event:
    """A callback message that cannot apply: refused, the referral (if any) unchanged."""
    return decision(
        ReferralRejected,
        event,
        source=SERVICE,
        occurred_at=event.occurred_at,
        name=event.referral_id,
        referral_id=event.referral_id,
        reason=reason,
        detail=why,
    )


def schedule_callback(
    referral: Referral,
    referee: KnownCustomer,
    referrer: KnownCustomer,
    delivered_at: Any,
    cause: Event,
    policy: Policy,
) -> Event:
    """Rule 3: the callback to the drawn party, wanted `callback_delay` after the delivery.
    Outreach's contact rules plan it (quiet hours, opt-outs, the cap): `FollowUpDue` at an
    allowed time, or `FollowUpSkipped`, which the referral then shows."""
    party = callback_party(policy.seed, referral.dealership_id, referral.referral_id)
    called, other = (referrer, referee) if party == "referrer" else (referee, referrer)
    due_at = delivered_at + policy.callback_delay
    follow_up_id = "rfcb-" + uuid5(referral.id, "callback").hex[:24]
    referral.schedule_callback(
        follow_up_id=follow_up_id, party=party, customer_id=called.customer_id, due_at=due_at
    )
    return decision(
        ContactRequested,
        cause,
        source=SERVICE,
        occurred_at=cause.occurred_at,
        name=referral.referral_id,
        customer_id=called.customer_id,
        follow_up_id=follow_up_id,
        reason="referral_callback",
        not_before=due_at,
        channels=[policy.callback_channel],
        referral_id=referral.referral_id,
        party=party,
        detail={
            "ask_about": other.customer_id,
            "referrer_vehicle": (
                f"{referral.referrer['vehicle_colour']} {referral.referrer['vehicle_model']}"
            ),
        },
    )


def reward(
    referral: Referral,
    referee: KnownCustomer,
    referrer: KnownCustomer,
    cause: Event,
    at: Any,
    policy: Policy,
) -> list[Event]:
    """Every check passed: the referral is verified and the referrer rewarded (rule 4: the
    referee counts as rewarded from now on)."""
    referral.verify(at=at)
    referrer.count_verified()
    referee.mark_rewarded(referral_id=referral.referral_id)
    referral.grant_reward(
        customer_id=referrer.customer_id,
        kind=policy.reward_kind,
        amount_cny=policy.reward_amount_cny,
        at=at,
    )
    common: dict[str, Any] = {
        "source": SERVICE,
        "occurred_at": at,
        "name": referral.referral_id,
        "referral_id": referral.referral_id,
        "referrer_customer_id": referrer.customer_id,
    }
    return [
        decision(ReferralVerified, cause, customer_id=referee.customer_id, **common),
        decision(
            RewardGranted,
            cause,
            customer_id=referrer.customer_id,
            kind=policy.reward_kind,
            amount_cny=policy.reward_amount_cny,
            **common,
        ),
    ]
