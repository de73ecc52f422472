"""A contact plan's deadline slots (docs/outreach.md "Planned by a deadline"): one
`Deadline` per plan, due at its earliest slot and moved as that changes (not cancelled
and made anew); a cause's changes to the slots in one `SlotsScheduled`; the touchpoint
carried by the plan event of the event that touches. Slots due at the same moment fire
in the order of their keys' deadline ids (slots.py), as each slot's own deadline did."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from laoke.clock import ManualClock
from laoke.deadlines import Deadline, deadline_id
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.work import UnitOfWork
from services.outreach.application import Outreach
from services.outreach.scheduling import PLAN
from services.outreach.settings import OutreachSettings
from services.outreach.slots import next_slot, slot_key
from tests.outreach.helpers import feed, plan_deadline, plan_of, recorded

NOW = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)  # 10:00 Shanghai


@pytest.fixture
def outreach(tmp_path: Path) -> Iterator[Outreach]:
    app = ServiceApplication(LaokeSettings(data_dir=tmp_path), "outreach")
    yield Outreach(app, OutreachSettings(), ManualClock(NOW))
    app.close()


def stored(outreach: Outreach) -> Counter[str]:
    """Stored events by class and name."""
    notifications = outreach.app.recorder.select_notifications(1, 10_000)
    return Counter(n.topic.rpartition(":")[2] for n in notifications)


def test_a_plan_has_one_deadline_due_at_its_earliest_slot_moved_not_recreated(
    outreach: Outreach,
) -> None:
    registered = recorded("CustomerRegistered", occurred_at="2026-01-20T09:30:00+08:00")
    purchase = recorded("VehiclePurchased", occurred_at="2026-01-20T10:00:00+08:00")
    dues = []
    for event in (registered, purchase):
        feed(outreach, event)
        plan = plan_of(outreach)
        deadline, found = plan_deadline(outreach, plan), next_slot(plan.deadlines)
        assert deadline is not None and found is not None and deadline.pending
        assert (deadline.kind, deadline.due_at) == (PLAN, found[1])
        dues.append(deadline.due_at)
    assert len(plan.deadlines) > 2 and dues[0] != dues[1], "the purchase's slots come earlier"
    events = stored(outreach)
    assert events["Deadline.Scheduled"] == 1 and events["Deadline.Moved"] == 1
    assert events["Deadline.Cancelled"] == 0
    assert events["ContactPlan.SlotsScheduled"] == 2 and events["ContactPlan.SlotScheduled"] == 0


def test_the_touchpoint_rides_on_the_plan_event_of_the_event_that_touches(
    outreach: Outreach,
) -> None:
    at = "2026-01-20T09:30:00+08:00"
    feed(outreach, recorded("CustomerRegistered", occurred_at=at))
    assert plan_of(outreach).last_touchpoint == datetime.fromisoformat(at)
    assert stored(outreach)["ContactPlan.Touched"] == 0
    later = "2026-01-21T11:00:00+08:00"
    feed(outreach, recorded("CustomerVisited", occurred_at=later, visit_kind="showroom"))
    assert plan_of(outreach).last_touchpoint == datetime.fromisoformat(later)
    assert stored(outreach)["ContactPlan.Touched"] == 1, "a visit changes the plan no other way"


def test_slots_due_at_the_same_moment_fire_in_the_order_of_their_keys_deadline_ids() -> None:
    plan = UUID(int=7)
    at, later = "2027-01-20T10:00:00+08:00", "2027-02-20T10:00:00+08:00"
    keys = {
        "reengage": slot_key(plan, "reengage", later, 0),
        "insurance:V1": slot_key(plan, "insurance:V1", at, 1),
        "inspection:V1": slot_key(plan, "inspection:V1", at, 2),
    }
    first = min(("insurance:V1", "inspection:V1"), key=lambda s: deadline_id(keys[s]))
    for order in (keys, dict(reversed(keys.items()))):
        assert next_slot(order) == (first, datetime.fromisoformat(at))
    assert next_slot({"reengage": keys["reengage"]}) == ("reengage", datetime.fromisoformat(later))
    assert next_slot({}) is None


def test_an_older_plans_deadline_fired_is_stale_once_its_slot_moved(outreach: Outreach) -> None:
    """A slot's own deadline (older versions) fires only while its slot keeps its key."""
    feed(outreach, recorded("CustomerRegistered", occurred_at="2026-01-20T09:30:00+08:00"))
    plan = plan_of(outreach)
    key = slot_key(plan.id, "reengage", "2026-03-01T10:00:00+08:00", 0)  # not the slot's now
    stale = Deadline(key=key, kind="reengage", ref=str(plan.id), due_at=NOW)
    work = UnitOfWork(outreach.app)
    outreach.on_deadline(work, stale)
    work.commit()
    assert work.decisions == []
    assert plan_of(outreach).deadlines == plan.deadlines
