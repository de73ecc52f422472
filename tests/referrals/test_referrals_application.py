"""The referral use case on a real (SQLite) store, without NATS: the aggregates, the
customer view, out-of-order input and the referrer's record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from referral_helpers import (
    REFEREE_PHONE,
    REFEREE_VIN,
    REFERRER_PHONE,
    REFERRER_VIN,
    D,
    callback,
    claim,
    recorded,
)

from events import (
    ContactRequested,
    Event,
    ReferralRejected,
    ReferralVerified,
    RewardGranted,
    parse_recorded,
)
from events.factories import sample_recorded
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.work import UnitOfWork
from services.referrals.application import Referrals
from services.referrals.settings import ReferralSettings

REFERRER = "c-referrer"
REFEREE = "c-referee"


class Harness:
    def __init__(self, tmp_path: Path, settings: ReferralSettings) -> None:
        self.app = ServiceApplication(LaokeSettings(data_dir=tmp_path), "referrals")
        self.referrals = Referrals(self.app, settings)
        self.decisions: list[Event] = []

    def feed(self, event: Event) -> list[Event]:
        """Handle and commit `event` as the consumer does; the decisions taken."""
        work = self.handled(event)
        work.commit()
        self.decisions += work.decisions
        return work.decisions

    def handled(self, event: Event) -> UnitOfWork:
        work = UnitOfWork(self.app)
        self.referrals.handle(work, event)
        return work


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path, ReferralSettings(dealerships={D: {"reward_amount_cny": 800}}))
    yield h
    h.app.close()


def known_referrer(h: Harness, colour: str = "black") -> None:
    phone = {"phone": REFERRER_PHONE}
    h.feed(recorded("CustomerRegistered", REFERRER, customer=phone, phones=[REFERRER_PHONE]))
    h.feed(
        recorded(
            "VehiclePurchased",
            REFERRER,
            customer=phone,
            vin=REFERRER_VIN,
            model="Jetta",
            colour=colour,
            occurred_at="2025-01-05T10:00:00+08:00",
        )
    )
    h.feed(
        recorded(
            "VehicleDelivered",
            REFERRER,
            customer=phone,
            vin=REFERRER_VIN,
            delivered_at="2025-01-06T10:00:00+08:00",
            occurred_at="2025-01-06T10:00:00+08:00",
        )
    )


def referee_buys(h: Harness) -> None:
    h.feed(
        recorded(
            "VehiclePurchased",
            REFEREE,
            customer={"phone": REFEREE_PHONE},
            vin=REFEREE_VIN,
            model="CT5",
            colour="white",
            occurred_at="2026-01-02T10:00:00+08:00",
        )
    )


def deliver_referee(h: Harness, at: str = "2026-01-05T10:00:00+08:00") -> list[Event]:
    return h.feed(
        recorded(
            "VehicleDelivered",
            REFEREE,
            customer={"phone": REFEREE_PHONE},
            vin=REFEREE_VIN,
            delivered_at=at,
            occurred_at=at,
        )
    )


def answer(h: Harness, referral_id: str, wrong: int) -> list[Event]:
    return h.feed(
        recorded(
            "ReferralCallbackAnswered",
            REFEREE,
            **callback(referral_id, wrong, at="2026-01-07T10:00:00+08:00", phone=REFEREE_PHONE),
        )
    )


def test_real_referral_is_verified_and_rewarded_with_dealership_amount(harness: Harness) -> None:
    known_referrer(harness)
    referee_buys(harness)
    assert (
        harness.feed(
            recorded("ReferralClaimed", REFEREE, **claim("rf-1", at="2026-01-03T10:00:00+08:00"))
        )
        == []
    )
    due = deliver_referee(harness)
    assert [type(d) for d in due] == [ContactRequested]
    follow_up = due[0]
    assert isinstance(follow_up, ContactRequested)
    assert follow_up.reason == "referral_callback" and follow_up.referral_id == "rf-1"
    assert follow_up.customer_id == (REFERRER if follow_up.party == "referrer" else REFEREE)
    assert follow_up.not_before == datetime(2026, 1, 5, 2, tzinfo=UTC) + timedelta(days=1)
    verified, reward = answer(harness, "rf-1", wrong=1)
    assert isinstance(verified, ReferralVerified) and verified.customer_id == REFEREE
    assert isinstance(reward, RewardGranted) and reward.customer_id == REFERRER
    assert (reward.kind, reward.amount_cny) == ("service_voucher", 800)
    view = harness.referrals.referral(D, "rf-1")
    assert view is not None and view["status"] == "verified"
    assert view["reward"]["amount_cny"] == 800
    assert {c["name"] for c in view["checks"] if c["passed"]} >= {
        "registered_before_delivery",
        "referrer_known",
        "referrer_vehicle",
        "callback",
    }
    record = harness.referrals.referrer_record(D, REFERRER)
    assert record is not None
    assert (record["referrals_made"], record["referrals_verified"], record["referrals_faked"]) == (
        1,
        1,
        0,
    )


def test_a_claim_received_after_the_delivery_is_rejected_whatever_its_date(
    harness: Harness,
) -> None:
    """The order laoke received claim and delivery decides (docs/domain.md "Referrals"): a
    claim dated before the delivery but sent after it is not a registration before it."""
    known_referrer(harness)
    referee_buys(harness)
    deliver_referee(harness, at="2026-01-05T10:00:00+08:00")
    (rejected,) = harness.feed(
        recorded("ReferralClaimed", REFEREE, **claim("rf-1", at="2026-01-03T10:00:00+08:00"))
    )
    assert isinstance(rejected, ReferralRejected)
    assert rejected.reason == "registered_after_delivery"
    assert rejected.detail is not None and "reached laoke before the claim" in rejected.detail


def test_failed_callback_is_recorded_against_the_referrer(harness: Harness) -> None:
    known_referrer(harness)
    referee_buys(harness)
    harness.feed(
        recorded("ReferralClaimed", REFEREE, **claim("rf-1", at="2026-01-03T10:00:00+08:00"))
    )
    deliver_referee(harness)
    (rejected,) = answer(harness, "rf-1", wrong=2)
    assert isinstance(rejected, ReferralRejected) and rejected.reason == "callback_failed"
    record = harness.referrals.referrer_record(D, REFERRER)
    assert record is not None and record["referrals_faked"] == 1
    assert record["referrals_verified"] == 0


def test_callback_for_an_unknown_referral_is_refused_not_a_crash(harness: Harness) -> None:
    (refused,) = answer(harness, "rf-nobody", wrong=0)
    assert isinstance(refused, ReferralRejected) and refused.reason == "unknown_referral"


def test_callback_before_the_checks_is_refused_and_the_referral_stays_open(
    harness: Harness,
) -> None:
    known_referrer(harness)
    referee_buys(harness)
    harness.feed(
        recorded("ReferralClaimed", REFEREE, **claim("rf-1", at="2026-01-03T10:00:00+08:00"))
    )
    (refused,) = answer(harness, "rf-1", wrong=0)
    assert isinstance(refused, ReferralRejected) and refused.reason == "callback_out_of_order"
    view = harness.referrals.referral(D, "rf-1")
    assert view is not None and view["status"] == "claimed"
    assert [type(d) for d in deliver_referee(harness)] == [ContactRequested]


def test_merged_referrer_is_found_by_the_duplicates_phone(harness: Harness) -> None:
    # the phone was registered to a duplicate that intake later merged into the referrer
    harness.feed(
        recorded(
            "CustomerRegistered",
            "c-dup",
            customer={"phone": REFERRER_PHONE},
            phones=[REFERRER_PHONE],
        )
    )
    harness.feed(
        recorded(
            "VehiclePurchased",
            REFERRER,
            customer={"vin": REFERRER_VIN},
            vin=REFERRER_VIN,
            model="Jetta",
            colour="black",
        )
    )
    harness.feed(
        recorded(
            "VehicleDelivered",
            REFERRER,
            customer={"vin": REFERRER_VIN},
            vin=REFERRER_VIN,
            delivered_at="2025-01-06T10:00:00+08:00",
        )
    )
    merged_raw = sample_recorded(
        "CustomersMerged", customer_id=REFERRER, survivor_id=REFERRER, merged_ids=["c-dup"]
    )
    merged = parse_recorded(json.dumps(merged_raw).encode())
    harness.feed(merged)
    referee_buys(harness)
    harness.feed(
        recorded("ReferralClaimed", REFEREE, **claim("rf-1", at="2026-01-03T10:00:00+08:00"))
    )
    (due,) = deliver_referee(harness)
    assert isinstance(due, ContactRequested)
    view = harness.referrals.referral(D, "rf-1")
    assert view is not None and view["referrer_customer_id"] == REFERRER
    assert harness.referrals.referrer_record(D, "c-dup") == harness.referrals.referrer_record(
        D, REFERRER
    )


def test_own_decisions_coming_back_are_ignored(harness: Harness) -> None:
    known_referrer(harness)
    referee_buys(harness)
    harness.feed(
        recorded("ReferralClaimed", REFEREE, **claim("rf-1", at="2026-01-03T10:00:00+08:00"))
    )
    (due,) = deliver_referee(harness)
    assert not harness.handled(due).changed()


def gate_answer(event_type: str, follow_up: ContactRequested, **fields: object) -> Event:
    """What outreach's contact rules record for the verification call."""
    raw = sample_recorded(
        event_type,
        source="outreach",
        customer_id=follow_up.customer_id,
        follow_up_id=follow_up.follow_up_id,
        reason="referral_callback",
        referral_id=follow_up.referral_id,
        **fields,
    )
    return parse_recorded(json.dumps(raw).encode())


def test_the_referral_shows_when_the_gate_planned_its_call_or_why_it_refused(
    harness: Harness,
) -> None:
    known_referrer(harness)
    referee_buys(harness)
    harness.feed(
        recorded("ReferralClaimed", REFEREE, **claim("rf-1", at="2026-01-03T10:00:00+08:00"))
    )
    (request,) = deliver_referee(harness)
    assert isinstance(request, ContactRequested)
    planned = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    assert (
        harness.feed(
            gate_answer("FollowUpDue", request, due_at=planned.isoformat(), channel="phone")
        )
        == []
    )
    view = harness.referrals.referral(D, "rf-1")
    assert view is not None and view["callback"]["due_at"] == planned
    why = {"why": "the customer opted out of referral contacts"}
    harness.feed(gate_answer("FollowUpSkipped", request, skip_reason="opted_out", detail=why))
    view = harness.referrals.referral(D, "rf-1")
    assert view is not None and view["status"] == "awaiting_callback"  # unverified, not rejected
    assert view["callback"]["skipped"] == "opted_out"
    assert "referral contacts" in view["callback"]["skipped_why"]
