"""An erased customer (`CustomerErased`, docs/privacy.md): outreach ends every contact still
open, its own and those other services requested, each recorded as `FollowUpSkipped` with
`skip_reason="erased"` (services/outreach/erasure.py); contacts already made stay as they
were. Use cases on a real (SQLite) store, without NATS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events import Event, FollowUpDue, FollowUpSkipped
from laoke.clock import ManualClock
from services.outreach.application import Outreach
from services.outreach.erasure import WHY
from tests.outreach.helpers import CUSTOMER, decision_from, feed, plan_of, recorded

NOW = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)  # 10:00 Shanghai


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def referral_callback() -> Event:
    """Referrals asks outreach to call the referrer back (a contact another service asked
    for: outreach's gate decided it, so outreach refuses it when it ends)."""
    return decision_from(
        "ContactRequested",
        source="referrals",
        follow_up_id="rfcb-1",
        reason="referral_callback",
        occurred_at="2026-01-20T11:00:00+08:00",
        not_before="2026-01-21T10:00:00+08:00",
        channels=["phone"],
        referral_id="RF-1",
        party="referrer",
    )


def erased() -> Event:
    return decision_from(
        "CustomerErased",
        source="intake",
        occurred_at="2026-01-20T12:00:00+08:00",
        erased_ids=[CUSTOMER],
        requested_by="dpo-01",
        request_ref="DSR-2026-0042",
    )


def open_contacts(outreach: Outreach) -> set[str]:
    return {f.follow_up_id for f in plan_of(outreach).follow_ups.values() if f.status == "due"}


def test_an_erasure_skips_every_open_contact_as_erased(outreach: Outreach) -> None:
    before = feed(
        outreach,
        recorded("CustomerRegistered", occurred_at="2026-01-20T09:30:00+08:00"),
        recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00"),
        request := referral_callback(),
    )
    due = {d.follow_up_id: d.reason for d in before if isinstance(d, FollowUpDue)}
    assert sorted(due.values()) == ["purchase_call_3m", "purchase_call_7d", "referral_callback"]
    ours = {f for f, reason in due.items() if reason != "referral_callback"}
    opened = open_contacts(outreach)
    assert opened == ours | {"rfcb-1"}
    erasure = erased()

    decided = feed(outreach, erasure)

    skipped = [d for d in decided if isinstance(d, FollowUpSkipped)]
    assert len(skipped) == len(decided) == len(opened)  # one each, nothing else
    assert {d.follow_up_id for d in skipped} == opened
    assert {d.skip_reason for d in skipped} == {"erased"}
    assert all(d.detail["why"] == WHY and d.customer_id == CUSTOMER for d in skipped)
    assert all(d.occurred_at == erasure.occurred_at for d in skipped)
    own = [d for d in skipped if d.follow_up_id in ours]
    assert {d.causation_id for d in own} == {erasure.event_id}
    (refusal,) = [d for d in skipped if d.follow_up_id == "rfcb-1"]
    # the refusal answers the request: caused by it, in its correlation, naming the referral
    assert refusal.causation_id == request.event_id
    assert refusal.correlation_id == request.correlation_id
    assert refusal.reason == "referral_callback" and refusal.referral_id == "RF-1"

    plan = plan_of(outreach)
    assert open_contacts(outreach) == set()
    assert {plan.follow_ups[f].outcome for f in opened} == {"erased"}
    assert plan.deadlines == {} and plan.phones == []
    assert feed(outreach, erasure) == []  # the same erasure again decides nothing


def test_an_erasure_leaves_contacts_already_ended_as_they_were(outreach: Outreach) -> None:
    decided = feed(
        outreach,
        recorded("CustomerRegistered", occurred_at="2026-01-20T09:30:00+08:00"),
        recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00"),
    )
    week = next(d for d in decided if isinstance(d, FollowUpDue) and d.reason == "purchase_call_7d")
    made = recorded(
        "FollowUpCompleted",
        follow_up_id=week.follow_up_id,
        outcome="reached",
        occurred_at="2026-01-27T10:00:00+08:00",
    )
    feed(outreach, made)
    assert plan_of(outreach).follow_ups[week.follow_up_id].status == "done"

    skipped = [d for d in feed(outreach, erased()) if isinstance(d, FollowUpSkipped)]

    assert [(d.reason, d.skip_reason) for d in skipped] == [("purchase_call_3m", "erased")]
    assert plan_of(outreach).follow_ups[week.follow_up_id].status == "done"
