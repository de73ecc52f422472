"""Pure rules of the retention figures (services/projections/retention.py) on small hand-made
histories: how a new customer first came, why a lost customer went, the figures of a group
(docs/projections.md's worked examples) and their cuts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.projections.metrics import Fact, cut_facts
from services.projections.retention import Touch, cause_of, source_of, summarise_retention

T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)
LAPSE = timedelta(days=180)
VISIT = "CustomerVisited"


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def visit(n: float, kind: str) -> Touch:
    return Touch(day(n), VISIT, kind)


def touch(n: float, event_type: str) -> Touch:
    return Touch(day(n), event_type)


@pytest.mark.parametrize(
    ("first", "referred", "source"),
    [
        (visit(0, "event"), False, "event"),
        (visit(0, "showroom"), False, "walk_in"),
        (visit(0, "test_drive"), False, "walk_in"),
        (visit(0, "phone_in"), False, "phoned_in"),
        (visit(0, "phone_out"), False, "other"),  # the dealership called a lead
        (visit(0, "service"), False, "other"),
        (touch(0, "CustomerRegistered"), False, "other"),
        (touch(0, "VehiclePurchased"), False, "other"),
        (None, False, "other"),  # first seen by an event that is no touchpoint
        # a referral claim names them: whatever the first contact was
        (visit(0, "showroom"), True, "referred"),
        (visit(0, "phone_in"), True, "referred"),
        (None, True, "referred"),
    ],
)
def test_a_new_customer_came_by_their_referral_or_their_first_touchpoint(
    first: Touch | None, referred: bool, source: str
) -> None:
    assert source_of(first, referred) == source


SERVICE = touch(0, "ServiceCompleted")
SURVEY = touch(1, "SurveyAnswered")


def test_the_neglected_had_no_contact_made_by_the_dealership_before_going_quiet() -> None:
    # in touch with the customer's own visits only: a service and its survey answer
    assert cause_of([SERVICE, SURVEY], [], [], LAPSE) == "neglected"
    # a call out, a follow-up made or a reward more than the lapse before: still neglected
    early = [visit(-200, "phone_out"), touch(-190, "FollowUpCompleted"), SERVICE, SURVEY]
    assert cause_of(early, [], [], LAPSE) == "neglected"


@pytest.mark.parametrize(
    "contact",
    [
        visit(-30, "phone_out"),
        touch(-30, "FollowUpCompleted"),
        touch(-30, "RewardGranted"),
        touch(-30, "ApologyIssued"),
        touch(-179, "RemedyProposed"),  # within the lapse before the last touchpoint
    ],
)
def test_a_contact_made_by_the_dealership_within_the_lapse_is_not_neglect(contact: Touch) -> None:
    assert cause_of([contact, SERVICE, SURVEY], [], [], LAPSE) == "contacted"


def test_a_call_in_is_the_customers_contact_not_the_dealerships() -> None:
    assert cause_of([visit(-30, "phone_in"), SERVICE, SURVEY], [], [], LAPSE) == "neglected"


@pytest.mark.parametrize(
    "last", [visit(2, "phone_out"), visit(2, "phone_in"), touch(2, "FollowUpCompleted")]
)
def test_a_last_touchpoint_that_is_a_call_is_a_last_call(last: Touch) -> None:
    assert cause_of([SERVICE, SURVEY, last], [], [], LAPSE) == "last_call"


def test_a_complaint_then_a_signal_come_first_within_the_lapse() -> None:
    history = [SERVICE, SURVEY, visit(2, "phone_out")]  # a last call, too
    assert cause_of(history, [day(-100)], [day(-50)], LAPSE) == "complained"
    assert cause_of(history, [], [day(-50)], LAPSE) == "dissatisfied"
    # before the lapse (from the last touchpoint, day 2): no longer why they went
    assert cause_of(history, [day(-179)], [day(-178.5)], LAPSE) == "last_call"
    assert cause_of(history, [day(-178)], [], LAPSE) == "complained"


def newcomer(source: str, bought: bool, advisor: str = "adv-1") -> Fact:
    return Fact("newcomer", advisor, "sales", {"source": source, "bought": bought}, 1, "d-1")


def lost(cause: str, advisor: str = "adv-1") -> Fact:
    return Fact("lost", advisor, "customer_care", {"cause": cause}, 1, "d-1")


def test_the_worked_example() -> None:
    """docs/projections.md: ten new customers and eight lost ones in a month."""
    facts = [
        *[newcomer("referred", True)] * 3,
        newcomer("event", True),
        *[newcomer("event", False)] * 2,
        newcomer("walk_in", False),
        *[newcomer("phoned_in", False)] * 2,
        newcomer("other", True),
        lost("complained"),
        lost("dissatisfied"),
        *[lost("neglected")] * 4,
        lost("last_call"),
        lost("contacted"),
    ]
    (figures,) = cut_facts(facts, "none", summarise_retention)
    came = figures.acquisition
    assert (came.new_customers, came.bought) == (10, 5)
    assert (came.referred.customers, came.referred.share, came.referred.bought) == (3, 0.3, 3)
    assert (came.event.customers, came.event.share, came.event.bought) == (3, 0.3, 1)
    assert (came.walk_in.share, came.phoned_in.share, came.other.share) == (0.1, 0.2, 0.1)
    gone = figures.lost
    assert gone.customers == 8
    assert (gone.neglected.numerator, gone.neglected.rate) == (4, 0.5)
    assert (gone.complained.rate, gone.dissatisfied.rate) == (0.125, 0.125)
    assert (gone.last_call.rate, gone.contacted.rate) == (0.125, 0.125)
    share = gone.neglected_share  # of the six with no complaint and no low score
    assert (share.numerator, share.denominator, share.rate) == (4, 6, 0.6667)


def test_no_facts_give_empty_figures() -> None:
    (figures,) = cut_facts([], "none", summarise_retention)
    assert figures.group == "all"
    assert figures.acquisition.new_customers == 0 and figures.acquisition.event.share is None
    assert figures.lost.customers == 0 and figures.lost.neglected_share.rate is None


def test_the_figures_cut_by_advisor() -> None:
    facts = [
        newcomer("event", False, "adv-1"),
        newcomer("referred", True, "adv-2"),
        lost("neglected", "adv-2"),
    ]
    one, two = cut_facts(facts, "advisor", summarise_retention)
    assert (one.group, one.advisor_id, two.group, two.advisor_id) == (
        "adv-1",
        "adv-1",
        "adv-2",
        "adv-2",
    )
    assert one.acquisition.event.customers == 1 and one.lost.customers == 0
    assert two.acquisition.referred.share == 1.0 and two.lost.neglected.rate == 1.0
    care, sales = cut_facts(facts, "department", summarise_retention)
    assert (care.department, care.acquisition.new_customers, care.lost.customers) == (
        "customer_care",
        0,
        1,
    )
    assert (sales.department, sales.acquisition.new_customers) == ("sales", 2)
