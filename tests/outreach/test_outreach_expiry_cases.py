"""A contact's useful life in the use cases, on a real (SQLite) store without NATS: a history
import records skips, not work; an open contact is ended by its expiry deadline with a
recorded `FollowUpExpired`, dated at the expiry; a contact made in time cancels it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from events import Event, FollowUpDue, FollowUpExpired, FollowUpSkipped
from laoke.clock import ManualClock
from services.outreach.application import Outreach
from tests.outreach.helpers import deadline_pending, feed, fire, plan_of, recorded

NOW = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)  # 10:00 Shanghai


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def registered() -> Event:
    return recorded("CustomerRegistered", occurred_at="2023-01-02T09:30:00+08:00")


def test_an_imported_purchase_is_skipped_expired_not_put_on_the_list(
    outreach: Outreach,
) -> None:
    purchase = recorded("VehiclePurchased", occurred_at="2023-01-05T10:00:00+08:00")
    decided = feed(outreach, registered(), purchase)
    assert not [d for d in decided if isinstance(d, FollowUpDue)]
    skipped = [d for d in decided if isinstance(d, FollowUpSkipped)]
    assert sorted((s.reason, s.skip_reason) for s in skipped) == [
        ("purchase_call_3m", "expired"),
        ("purchase_call_7d", "expired"),
    ]
    assert all(datetime.fromisoformat(s.detail["expires_at"]) <= NOW for s in skipped)
    assert all(s.causation_id == purchase.event_id for s in skipped)
    state = plan_of(outreach)
    assert state.follow_ups == {}
    assert state.counted_contacts() == []  # nothing of the past takes today's room
    assert not [slot for slot in state.deadlines if slot.startswith("expire:")]


def test_an_open_contact_is_ended_by_its_expiry_dated_at_it(
    outreach: Outreach, clock: ManualClock
) -> None:
    purchase = recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00")
    decided = feed(outreach, registered(), purchase)
    call = next(d for d in decided if isinstance(d, FollowUpDue) and d.reason == "purchase_call_7d")
    assert call.expires_at is not None and call.expires_at > call.due_at
    slot = f"expire:{call.follow_up_id}"
    assert slot in plan_of(outreach).deadlines

    ended = fire(outreach, clock, slot)
    assert len(ended) == 1 and isinstance(ended[0], FollowUpExpired)
    expired = ended[0]
    assert (expired.follow_up_id, expired.reason) == (call.follow_up_id, call.reason)
    assert expired.occurred_at == expired.expires_at == call.expires_at  # not the ticker's time
    assert expired.due_at == call.due_at
    assert expired.causation_id == call.event_id == UUID(call.follow_up_id.removeprefix("fu-"))
    assert expired.correlation_id == purchase.event_id
    state = plan_of(outreach)
    assert state.follow_ups[call.follow_up_id].status == "expired"
    assert slot not in state.deadlines
    assert feed(outreach, recorded("CustomerVisited")) == []  # nothing expires twice


def test_a_contact_made_in_time_cancels_its_expiry(outreach: Outreach) -> None:
    service = recorded("ServiceCompleted", occurred_at="2026-01-20T10:00:00+08:00")
    decided = feed(outreach, registered(), service)
    csi = next(d for d in decided if isinstance(d, FollowUpDue) and d.reason == "survey_csi")
    key = plan_of(outreach).deadlines[f"expire:{csi.follow_up_id}"]
    done = recorded("FollowUpCompleted", follow_up_id=csi.follow_up_id, outcome="reached")
    feed(outreach, done)
    assert f"expire:{csi.follow_up_id}" not in plan_of(outreach).deadlines
    assert not deadline_pending(outreach, key)


def test_a_retry_keeps_the_first_trys_window(outreach: Outreach, clock: ManualClock) -> None:
    purchase = recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00")
    decided = feed(outreach, registered(), purchase)
    call = next(d for d in decided if isinstance(d, FollowUpDue) and d.reason == "purchase_call_7d")
    assert call.expires_at is not None
    clock.set(call.due_at)
    no_answer = recorded(
        "FollowUpCompleted",
        follow_up_id=call.follow_up_id,
        outcome="no_answer",
        occurred_at=call.due_at.isoformat(),
        satisfaction=None,
    )
    retry = next(d for d in feed(outreach, no_answer) if isinstance(d, FollowUpDue))
    assert retry.reason == "retry" and retry.expires_at == call.expires_at

    # the last day of the window: a retry would come after it, so none is planned
    clock.set(call.expires_at - timedelta(hours=2))
    late = recorded(
        "FollowUpCompleted",
        follow_up_id=retry.follow_up_id,
        outcome="no_answer",
        occurred_at=clock.now().isoformat(),
        satisfaction=None,
    )
    decided = feed(outreach, late)
    assert not [d for d in decided if isinstance(d, FollowUpDue)]
    assert [(d.reason, d.skip_reason) for d in decided if isinstance(d, FollowUpSkipped)] == [
        ("retry", "expired")
    ]
