"""Referrals following intake's identity records (docs/identity.md "Who follows what"): a
car sold on leaves its seller's record for its buyer's; a split gives the restored customer
back its phones, cars, counts and the open claims its re-attributed events made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from referral_helpers import REFERRER_PHONE, REFERRER_VIN, D, claim, recorded
from test_referrals_application import Harness, deliver_referee, known_referrer, referee_buys

from events import ContactRequested, Event, ReferralRejected, parse_recorded
from events.factories import sample_recorded
from services.referrals.aggregates import KnownCustomer, known_customer_id
from services.referrals.settings import ReferralSettings

REFERRER = "c-referrer"
BUYER = "c-buyer"
BUYER_PHONE = "13700137000"
DUP = "c-dup"
DUP_PHONE = "13600136000"
DUP_VIN = "WVWZZZ1JZXW000002"
DUP_NEW_VIN = "WVWZZZ1JZXW000003"
SOLD_AT = "2025-06-01T10:00:00+08:00"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path, ReferralSettings(dealerships={D: {"reward_amount_cny": 800}}))
    yield h
    h.app.close()


def recorded_only(event_type: str, customer_id: str, **fields: Any) -> Event:
    raw = sample_recorded(event_type, dealership_id=D, customer_id=customer_id, **fields)
    return parse_recorded(json.dumps(raw).encode())


def sold_to_buyer(harness: Harness) -> None:
    h = harness
    """The referrer's black Jetta bought by another person at the used-car desk: intake
    records the change of hands, then the purchase under the buyer."""
    h.feed(
        recorded_only(
            "VehicleOwnershipChanged",
            BUYER,
            vin=REFERRER_VIN,
            previous_owner_id=REFERRER,
            owner_id=BUYER,
            changed_at=SOLD_AT,
        )
    )
    h.feed(
        recorded(
            "VehiclePurchased",
            BUYER,
            customer={"phone": BUYER_PHONE, "vin": REFERRER_VIN},
            vin=REFERRER_VIN,
            model="Jetta",
            colour="black",
            occurred_at=SOLD_AT,
        )
    )


def customer(h: Harness, customer_id: str) -> KnownCustomer:
    found = h.app.get_or_none(known_customer_id(D, customer_id))
    assert isinstance(found, KnownCustomer)
    return found


def test_a_seller_no_longer_passes_the_vehicle_check_with_the_car_sold(harness: Harness) -> None:
    h = harness
    known_referrer(h)
    sold_to_buyer(h)
    # the seller's purchase and delivery, sent again late (a history import, dated before
    # the sale), do not give the car back
    late = {"customer": {"vin": REFERRER_VIN}, "vin": REFERRER_VIN}
    at = "2025-01-06T10:00:00+08:00"
    h.feed(recorded("VehiclePurchased", REFERRER, **late, model="Jetta", colour="black"))
    h.feed(recorded("VehicleDelivered", REFERRER, **late, delivered_at=at, occurred_at=at))
    referee_buys(h)
    h.feed(
        recorded("ReferralClaimed", "c-referee", **claim("rf-1", at="2026-01-03T10:00:00+08:00"))
    )
    (rejected,) = deliver_referee(h)
    assert isinstance(rejected, ReferralRejected)
    assert rejected.reason == "referrer_vehicle_mismatch"
    view = h.referrals.referral(D, "rf-1")
    assert view is not None and view["referrer_customer_id"] == REFERRER
    assert REFERRER_VIN not in customer(h, REFERRER).vehicles


def test_the_buyer_passes_the_vehicle_check_with_the_car_bought(harness: Harness) -> None:
    h = harness
    known_referrer(h)
    sold_to_buyer(h)
    referee_buys(h)
    h.feed(
        recorded(
            "ReferralClaimed",
            "c-referee",
            **claim("rf-1", at="2026-01-03T10:00:00+08:00", phone=BUYER_PHONE),
        )
    )
    (due,) = deliver_referee(h)
    assert isinstance(due, ContactRequested) and due.referral_id == "rf-1"
    view = h.referrals.referral(D, "rf-1")
    assert view is not None and view["referrer_customer_id"] == BUYER
    (vehicle,) = [c for c in view["checks"] if c["name"] == "referrer_vehicle"]
    assert vehicle["passed"] and vehicle["detail"] == REFERRER_VIN
    bought = customer(h, BUYER).vehicles[REFERRER_VIN]
    assert bought["delivered_at"] == datetime.fromisoformat(SOLD_AT)  # on the road from the sale


def test_a_split_gives_back_phones_cars_counts_and_the_claims_made_while_merged(
    harness: Harness,
) -> None:
    h = harness
    known_referrer(h)  # REFERRER: phone 139…, a black Jetta
    dup = {"phone": DUP_PHONE}
    h.feed(recorded("CustomerRegistered", DUP, customer=dup, phones=[DUP_PHONE]))
    h.feed(
        recorded("VehiclePurchased", DUP, customer=dup, vin=DUP_VIN, model="Tiguan", colour="red")
    )
    merge = recorded_only(
        "CustomersMerged", REFERRER, survivor_id=REFERRER, merged_ids=[DUP], because="phone"
    )
    h.feed(merge)
    # while merged, the duplicate's person claims as referee (recorded under the survivor),
    # and the survivor's own person claims too
    theirs = claim(
        "rf-dup", at="2026-02-01T10:00:00+08:00", vin=DUP_NEW_VIN, referee_phone=DUP_PHONE
    )
    h.feed(recorded("ReferralClaimed", REFERRER, **theirs))
    own = claim("rf-own", at="2026-02-02T10:00:00+08:00", vin="WVWZZZ1JZXW000004", phone=DUP_PHONE)
    own["customer"] = {"phone": REFERRER_PHONE}
    h.feed(recorded("ReferralClaimed", REFERRER, **own))
    survivor = customer(h, REFERRER)
    assert set(survivor.phones) == {"+8613900139000", "+8613600136000"}
    assert set(survivor.vehicles) == {REFERRER_VIN, DUP_VIN}
    assert survivor.open_claims == ["rf-dup", "rf-own"]

    h.feed(
        recorded_only(
            "CustomersUnmerged",
            REFERRER,
            merge_event_id=str(merge.event_id),
            survivor_id=REFERRER,
            restored_id=DUP,
            reattributed_event_ids=[theirs["event_id"]],
        )
    )
    survivor, restored = customer(h, REFERRER), customer(h, DUP)
    assert (survivor.phones, restored.phones) == (["+8613900139000"], ["+8613600136000"])
    assert (set(survivor.vehicles), set(restored.vehicles)) == ({REFERRER_VIN}, {DUP_VIN})
    assert (survivor.open_claims, restored.open_claims) == (["rf-own"], ["rf-dup"])
    assert restored.merged_into is None
    moved, kept = h.referrals.referral(D, "rf-dup"), h.referrals.referral(D, "rf-own")
    assert moved is not None and moved["claim"]["referee_customer_id"] == DUP
    assert kept is not None and kept["claim"]["referee_customer_id"] == REFERRER
    # the duplicate's phone names them again as a referrer: the referrer's claim waits for
    # its delivery under the restored customer, and is checked against the restored cars
    assert h.referrals.referrer_record(D, DUP) != h.referrals.referrer_record(D, REFERRER)
    (due,) = h.feed(
        recorded(
            "VehicleDelivered",
            DUP,
            customer=dup,
            vin=DUP_NEW_VIN,
            delivered_at="2026-02-10T10:00:00+08:00",
            occurred_at="2026-02-10T10:00:00+08:00",
        )
    )
    # rf-dup names REFERRER (phone 139…) as referrer: the survivor, known, with its Jetta
    assert isinstance(due, ContactRequested) and due.referral_id == "rf-dup"
    assert customer(h, DUP).open_claims == []


def test_a_split_takes_back_the_restored_customers_verified_count_and_reward() -> None:
    survivor = KnownCustomer(dealership_id=D, customer_id=REFERRER)
    restored = KnownCustomer(dealership_id=D, customer_id=DUP)
    restored.count_made()
    restored.count_verified()
    restored.mark_rewarded(referral_id="rf-old")
    survivor.absorb_from(restored)
    restored.merge_into(survivor_id=REFERRER)
    assert (survivor.made, survivor.verified, survivor.rewarded_referral) == (1, 1, "rf-old")
    survivor.split_from(restored)
    assert (survivor.made, survivor.verified, survivor.rewarded_referral) == (0, 0, None)
    assert (restored.made, restored.verified, restored.rewarded_referral) == (1, 1, "rf-old")
