"""The use cases against a real eventsourcing store (SQLite in tmp), without NATS."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from complaints_support import T0, at, merge, recorded

from events import ContactRequested, Event
from laoke.clock import ManualClock
from laoke.deadlines import Deadline, DeadlineIndex, Ticker, deadline_id
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.work import UnitOfWork
from services.complaints.aggregates import Complaint, CustomerComplaints
from services.complaints.application import Complaints
from services.complaints.ids import (
    APOLOGY,
    GENERAL_MANAGER,
    SLA,
    complaint_aggregate_id,
    customer_complaints_id,
    deadline_key,
)
from services.complaints.settings import ComplaintSettings

COMPLAINT_ID = complaint_aggregate_id("demo-4s", "CP-1")
SLA_KINDS = (SLA, GENERAL_MANAGER)  # the manager's and the general manager's due times


def open_app(tmp_path: Path) -> tuple[ServiceApplication, Complaints]:
    app = ServiceApplication(LaokeSettings(data_dir=tmp_path), "complaints")
    return app, Complaints(app, ComplaintSettings())


def feed(complaints: Complaints, event: Event) -> list[Event]:
    """Handle and commit `event` as the consumer does; the decisions taken."""
    work = UnitOfWork(complaints.app)
    complaints.handle(work, event)
    work.commit()
    return work.decisions


def changes_anything(complaints: Complaints, event: Event) -> bool:
    work = UnitOfWork(complaints.app)
    complaints.handle(work, event)
    return work.changed()


def test_the_complaint_and_its_deadlines_survive_a_reopen_and_the_close_cancels_them(
    tmp_path: Path,
) -> None:
    app, complaints = open_app(tmp_path)
    feed(complaints, recorded("ComplaintFiled"))
    feed(complaints, recorded("ApologyIssued", occurred_at=at(minutes=20)))
    feed(complaints, recorded("ComplaintInvestigated", occurred_at=at(minutes=40)))
    feed(complaints, recorded("RemedyProposed", amount_cny=1999.5, occurred_at=at(hours=1)))
    app.close()

    app, complaints = open_app(tmp_path)
    index = DeadlineIndex()
    index.rebuild(app)
    assert len(index) == 2  # SLA and general manager; the apology cancelled its own
    complaint = app.get_or_none(COMPLAINT_ID)
    assert isinstance(complaint, Complaint)
    assert complaint.step == 4 and complaint.hours_to_apology == 20 / 60
    assert complaint.pending_remedy is not None
    assert complaint.pending_remedy["amount_cny"] == Decimal("1999.5")
    assert complaint.step_times[1] == T0

    made = feed(complaints, recorded("RemedyAccepted", occurred_at=at(hours=2)))
    assert [d.event_type for d in made] == ["ComplaintResolved", "ContactRequested"]
    kept = [app.get_or_none(deadline_id(deadline_key(complaint.id, k))) for k in SLA_KINDS]
    index.observe(kept)
    assert len(index) == 2  # kept through the resolution: the call-back may reopen it
    callback = made[1]
    assert isinstance(callback, ContactRequested)
    satisfied = recorded(
        "FollowUpCompleted", follow_up_id=callback.follow_up_id, outcome="reached", satisfaction=9
    )
    assert [d.event_type for d in feed(complaints, satisfied)] == ["ComplaintClosed"]
    index.observe([app.get_or_none(deadline_id(deadline_key(complaint.id, k))) for k in SLA_KINDS])
    assert len(index) == 0


def test_a_fired_deadline_is_committed_with_its_decisions_and_not_fired_again(
    tmp_path: Path,
) -> None:
    app, complaints = open_app(tmp_path)
    feed(complaints, recorded("ComplaintFiled"))
    key = deadline_key(COMPLAINT_ID, APOLOGY)
    deadline = app.get_or_none(deadline_id(key))
    assert isinstance(deadline, Deadline) and deadline.due_at == T0 + timedelta(hours=1)
    ticker = Ticker(app, DeadlineIndex(), ManualClock(deadline.due_at), complaints.on_deadline)
    fired = ticker.fire(deadline.id)
    assert fired is not None and "ComplaintEscalated" in [d.event_type for d in fired.decisions]
    assert ticker.fire(deadline.id) is None, "a fired deadline does not fire again"
    app.close()

    app, complaints = open_app(tmp_path)
    reloaded = app.get_or_none(deadline_id(key))
    assert not reloaded.pending
    complaint = app.get_or_none(COMPLAINT_ID)
    assert complaint.apology_overdue and complaint.escalations == ["apology_overdue"]
    index = DeadlineIndex()
    index.rebuild(app)
    assert index.due(T0 + timedelta(days=30)) == [
        deadline_id(deadline_key(COMPLAINT_ID, kind)) for kind in SLA_KINDS
    ]
    app.close()


def test_a_merge_moves_the_stored_complaint_to_the_survivor_once(tmp_path: Path) -> None:
    app, complaints = open_app(tmp_path)
    feed(complaints, recorded("ComplaintFiled", customer_id="c-old"))
    assert not changes_anything(complaints, merge("c-new", "c-unknown"))  # no complaints to move
    feed(complaints, merge("c-new", "c-old"))
    app.close()

    app, complaints = open_app(tmp_path)
    complaint = app.get_or_none(COMPLAINT_ID)
    assert isinstance(complaint, Complaint)
    assert (complaint.customer_id, complaint.merged_from) == ("c-new", ["c-old"])
    survivor = app.get_or_none(customer_complaints_id("demo-4s", "c-new"))
    assert isinstance(survivor, CustomerComplaints) and survivor.complaint_ids == ["CP-1"]
    assert not changes_anything(complaints, merge("c-new", "c-old"))  # replayed: nothing to move
    made = feed(complaints, recorded("RemedyAccepted", customer_id="c-new"))
    assert [(d.event_type, d.customer_id) for d in made] == [("ComplaintStepRejected", "c-new")]
    app.close()
