"""The referral rules, pure: one test (or a few) per rule, no I/O."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.referrals import rules
from services.referrals.rules import KnownReferrer, Vehicle

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
VIN = "LSGKB54E7LS123456"
OTHER_VIN = "LSGKB54E7LS654321"


# -- rule 1: registered before delivery -------------------------------------------------------


def test_claim_before_delivery_passes() -> None:
    vehicles = [Vehicle(VIN, "CT5", "black", delivered_at=None)]
    assert rules.check_registered_before_delivery(T0, vehicles, VIN).passed


def test_claim_after_delivery_of_the_claimed_vin_is_registered_after_delivery() -> None:
    vehicles = [Vehicle(VIN, "CT5", "black", delivered_at=T0 - timedelta(days=1))]
    check = rules.check_registered_before_delivery(T0, vehicles, VIN)
    assert not check.passed
    assert check.reason == "registered_after_delivery"


def test_claim_made_at_the_moment_of_delivery_is_not_valid() -> None:
    vehicles = [Vehicle(VIN, "CT5", "black", delivered_at=T0)]
    assert rules.check_registered_before_delivery(T0, vehicles, VIN).reason == (
        "registered_after_delivery"
    )


def test_claim_without_vin_counts_any_car_of_the_referee() -> None:
    vehicles = [Vehicle(OTHER_VIN, "Jetta", "white", delivered_at=T0 - timedelta(hours=1))]
    assert not rules.check_registered_before_delivery(T0, vehicles, None).passed


def test_claim_with_vin_ignores_the_referees_other_delivered_cars() -> None:
    vehicles = [
        Vehicle(OTHER_VIN, "Jetta", "white", delivered_at=T0 - timedelta(days=300)),
        Vehicle(VIN, "CT5", "black"),
    ]
    assert rules.check_registered_before_delivery(T0, vehicles, VIN).passed


def test_a_delivery_received_before_the_claim_fails_it_even_if_the_claim_is_dated_earlier() -> None:
    delivered_later = Vehicle(VIN, "CT5", "black", delivered_at=T0 + timedelta(hours=2))
    check = rules.check_received_before_delivery([delivered_later], VIN, T0)
    assert (check.passed, check.reason) == (False, "registered_after_delivery")
    assert rules.check_received_before_delivery([Vehicle(VIN)], VIN, T0).passed
    other = Vehicle(OTHER_VIN, "Jetta", "white", delivered_at=T0 - timedelta(days=300))
    assert rules.check_received_before_delivery([other, Vehicle(VIN)], VIN, T0).passed


def test_a_delivery_concerns_the_claimed_vin_or_any_when_no_vin_was_claimed() -> None:
    assert rules.delivery_concerns(VIN, VIN)
    assert not rules.delivery_concerns(VIN, OTHER_VIN)
    assert rules.delivery_concerns(None, OTHER_VIN)


# -- rule 2: the referrer exists and their car matches ----------------------------------------

DELIVERED_JETTA = Vehicle(OTHER_VIN, "Jetta", "Black", delivered_at=T0 - timedelta(days=400))


def test_unknown_referrer_is_rejected() -> None:
    check = rules.check_referrer_known(None, "c-referee", "13900139000")
    assert (check.passed, check.reason) == (False, "referrer_unknown")


def test_referee_naming_themself_is_an_unknown_referrer() -> None:
    me = KnownReferrer("c-referee", (DELIVERED_JETTA,))
    assert rules.check_referrer_known(me, "c-referee", "x").reason == "referrer_unknown"


def test_known_referrer_passes() -> None:
    referrer = KnownReferrer("c-referrer", (DELIVERED_JETTA,))
    assert rules.check_referrer_known(referrer, "c-referee", "x").passed


def test_referrer_vehicle_matches_model_and_colour_ignoring_case_and_spaces() -> None:
    referrer = KnownReferrer("c-referrer", (DELIVERED_JETTA,))
    assert rules.check_referrer_vehicle(referrer, " jetta ", "BLACK", True).passed


@pytest.mark.parametrize(("model", "colour"), [("Jetta", "white"), ("CT5", "black")])
def test_referrer_vehicle_mismatch_is_rejected(model: str, colour: str) -> None:
    referrer = KnownReferrer("c-referrer", (DELIVERED_JETTA,))
    check = rules.check_referrer_vehicle(referrer, model, colour, True)
    assert (check.passed, check.reason) == (False, "referrer_vehicle_mismatch")


def test_referrer_vehicle_must_be_delivered_unless_the_dealership_says_not() -> None:
    undelivered = Vehicle(OTHER_VIN, "Jetta", "black", delivered_at=None)
    referrer = KnownReferrer("c-referrer", (undelivered,))
    assert not rules.check_referrer_vehicle(referrer, "Jetta", "black", True).passed
    assert rules.check_referrer_vehicle(referrer, "Jetta", "black", False).passed


# -- rule 3: the callback ---------------------------------------------------------------------


def test_callback_party_is_reproducible_for_a_seed() -> None:
    first = [rules.callback_party("s", "d", f"rf-{i}") for i in range(50)]
    again = [rules.callback_party("s", "d", f"rf-{i}") for i in range(50)]
    assert first == again


def test_callback_party_draws_both_parties_and_depends_on_the_seed() -> None:
    draws = Counter(rules.callback_party("s", "d", f"rf-{i}") for i in range(400))
    assert set(draws) == {"referrer", "referee"}
    assert min(draws.values()) > 120  # roughly even
    other_seed = [rules.callback_party("t", "d", f"rf-{i}") for i in range(400)]
    assert other_seed != [rules.callback_party("s", "d", f"rf-{i}") for i in range(400)]


@pytest.mark.parametrize(
    "answers",
    [[True, True, True], [True, False, True], [False, True, True, True]],
)
def test_callback_with_fewer_than_two_wrong_answers_passes(answers: list[bool]) -> None:
    assert rules.check_callback(answers).passed


@pytest.mark.parametrize(
    "answers",
    [[False, False, True], [True, False, False, True], [False, False, False, False]],
)
def test_callback_with_two_or_more_wrong_answers_failed(answers: list[bool]) -> None:
    check = rules.check_callback(answers)
    assert (check.passed, check.reason) == (False, "callback_failed")


# -- rule 4: one reward per referee -----------------------------------------------------------


def test_referee_not_yet_rewarded_passes() -> None:
    assert rules.check_referee_not_rewarded(None, "rf-2").passed


def test_referee_rewarded_for_another_referral_is_already_rewarded() -> None:
    check = rules.check_referee_not_rewarded("rf-1", "rf-2")
    assert (check.passed, check.reason) == (False, "already_rewarded")
