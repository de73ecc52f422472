"""End to end on a real nats-server: intake and complaints in-process, a ManualClock for time.

The clocks count every hour here (`clock: calendar`) so that due times read plainly; the
opening-hours clock, the default, and a reopening are end to end in
tests/projections/test_complaint_clocks.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from complaints_support import (
    T0,
    at,
    inbound,
    of_type,
    publish,
    read_retention,
    retention_subjects,
    wait_recorded,
)
from nats.js import JetStreamContext
from waiting import wait_for

from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.complaints.service import ComplaintsService
from services.complaints.settings import ComplaintSettings
from services.intake.service import IntakeService


@pytest.fixture
async def intake(settings: LaokeSettings, clock: ManualClock) -> AsyncIterator[IntakeService]:
    service = IntakeService(settings, clock)
    await service.start()
    yield service
    await service.stop()


CALENDAR = ComplaintSettings(clock="calendar")


async def started(settings: LaokeSettings, clock: ManualClock) -> ComplaintsService:
    service = ComplaintsService(settings, clock, CALENDAR)
    await service.start()
    return service


async def until_filed(service: ComplaintsService, deadlines: int) -> None:
    async def scheduled() -> bool:
        return len(service.deadlines) >= deadlines

    await wait_for(scheduled, what=f"{deadlines} deadlines pending")


async def until_handled(service: ComplaintsService, js: JetStreamContext) -> None:
    """Wait until complaints handled everything on RETENTION so far."""
    last = (await js.stream_info(RETENTION)).state.last_seq

    async def caught_up() -> bool:
        return service.app.tracked_position(service.consumer.durable) >= last

    await wait_for(caught_up, what=f"complaints at RETENTION {last}")


async def up_to_investigation(js: JetStreamContext, complaint_id: str) -> None:
    await publish(js, inbound("ComplaintFiled", complaint_id))
    await publish(js, inbound("ApologyIssued", complaint_id, occurred_at=at(minutes=20)))
    await publish(js, inbound("ComplaintInvestigated", complaint_id, occurred_at=at(minutes=40)))


async def test_one_complaint_through_all_six_steps_is_recorded_in_order_with_causation(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext, intake: IntakeService
) -> None:
    service = await started(settings, clock)
    try:
        await up_to_investigation(js, "CP-1")
        await publish(js, inbound("RemedyProposed", "CP-1", occurred_at=at(hours=1)))
        await publish(js, inbound("RemedyAccepted", "CP-1", occurred_at=at(hours=2)))
        (due,) = await wait_recorded(js, "ContactRequested")
        assert due.not_before == T0 + timedelta(hours=2, days=3)
        clock.set(due.not_before + timedelta(hours=1))
        callback = inbound(
            "FollowUpCompleted",
            follow_up_id=due.follow_up_id,
            satisfaction=9,
            occurred_at=(due.not_before + timedelta(minutes=30)).isoformat(),
        )
        await publish(js, callback)
        await wait_recorded(js, "ComplaintClosed")
        await service.relay.drain()  # type: ignore[union-attr]
        events = await read_retention(js)
    finally:
        await service.stop()

    # Recorded at filing (the due times), and when the apology stopped its clock:
    filing_clocks, apology_clocks = of_type(events, "ComplaintClockSet")
    assert filing_clocks.causation_id == events[0].event_id
    assert apology_clocks.causation_id == of_type(events, "ApologyIssued")[0].event_id
    assert apology_clocks.hours_to_apology == 20 / 60
    events = [e for e in events if e.event_type != "ComplaintClockSet"]
    assert [e.event_type for e in events] == [
        "ComplaintFiled",
        "ApologyIssued",
        "ComplaintInvestigated",
        "RemedyProposed",
        "RemedyAccepted",
        "ComplaintResolved",
        "ContactRequested",
        "FollowUpCompleted",
        "ComplaintClosed",
    ]
    by_type = {e.event_type: e for e in events}
    accepted, resolved = by_type["RemedyAccepted"], by_type["ComplaintResolved"]
    assert resolved.causation_id == accepted.event_id == by_type["ContactRequested"].causation_id
    assert resolved.correlation_id == accepted.correlation_id
    closed = by_type["ComplaintClosed"]
    assert closed.causation_id == by_type["FollowUpCompleted"].event_id
    assert closed.satisfaction == 9  # type: ignore[attr-defined]
    customer = by_type["ComplaintFiled"].customer_id
    assert {e.customer_id for e in events} == {customer}
    assert all(e.source == "complaints" for e in (resolved, by_type["ContactRequested"], closed))


async def test_an_advisor_remedy_of_5000_is_refused_and_the_same_by_a_manager_accepted(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext, intake: IntakeService
) -> None:
    service = await started(settings, clock)
    try:
        await up_to_investigation(js, "CP-2")
        offer = {"remedy": "refund", "amount_cny": 5000}
        by_advisor = inbound("RemedyProposed", "CP-2", role="advisor", **offer)
        await publish(js, by_advisor)
        (refused,) = await wait_recorded(js, "RemedyRefused")
        assert str(refused.causation_id) == by_advisor["event_id"]
        assert (refused.limit_cny, refused.role) == (2000, "advisor")
        await publish(js, inbound("RemedyProposed", "CP-2", role="manager", **offer))
        await publish(js, inbound("RemedyAccepted", "CP-2", occurred_at=at(hours=3)))
        (resolved,) = await wait_recorded(js, "ComplaintResolved", complaint_id="CP-2")
        events = await read_retention(js)
    finally:
        await service.stop()
    assert resolved.within_sla
    assert len(of_type(events, "RemedyRefused")) == 1
    assert of_type(events, "ComplaintStepRejected") == []


async def test_apology_overdue_and_both_escalation_levels_fire_exactly_once_across_restarts(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext, intake: IntakeService
) -> None:
    first = await started(settings, clock)
    await publish(js, inbound("ComplaintFiled", "CP-3", severity="medium"))
    await until_filed(first, 3)  # apology, SLA, general manager
    await first.stop()  # down while the apology deadline passes

    clock.advance(timedelta(hours=2))
    second = await started(settings, clock)
    await wait_recorded(js, "ApologyOverdue")
    await second.stop()

    third = await started(settings, clock)
    assert len(third.deadlines) == 2  # the SLA and the general manager's are left pending
    clock.set(T0 + timedelta(hours=48))
    await wait_recorded(js, "ComplaintEscalated", why="sla_breached")
    await third.stop()

    fourth = await started(settings, clock)
    assert len(fourth.deadlines) == 1
    clock.set(T0 + timedelta(hours=96))  # twice the medium SLA, still unresolved
    await wait_recorded(js, "ComplaintEscalated", why="sla_breached", count=2)
    await fourth.stop()

    fifth = await started(settings, clock)
    try:
        assert len(fifth.deadlines) == 0
        clock.advance(timedelta(days=7))
        await fifth.relay.drain()  # type: ignore[union-attr]
        events = await read_retention(js)
    finally:
        await fifth.stop()
    escalations = of_type(events, "ComplaintEscalated")
    assert [(e.why, e.escalated_to, e.level) for e in escalations] == [
        ("apology_overdue", "manager", 1),
        ("sla_breached", "manager", 1),
        ("sla_breached", "general_manager", 2),
    ]
    assert [e.occurred_at for e in escalations[1:]] == [
        T0 + timedelta(hours=48),
        T0 + timedelta(hours=96),
    ]
    (overdue,) = of_type(events, "ApologyOverdue")
    assert overdue.occurred_at == overdue.due_at == T0 + timedelta(hours=1)
    filed = of_type(events, "ComplaintFiled")[0]
    assert {e.causation_id for e in [*escalations, overdue]} == {filed.event_id}


async def test_nothing_escalates_when_the_complaint_was_resolved_in_time(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext, intake: IntakeService
) -> None:
    service = await started(settings, clock)
    await up_to_investigation(js, "CP-ok")
    await publish(js, inbound("RemedyProposed", "CP-ok", occurred_at=at(minutes=50)))
    await publish(js, inbound("RemedyAccepted", "CP-ok", occurred_at=at(hours=5)))
    await publish(js, inbound("ComplaintFiled", "CP-late"))  # a control, never handled
    await wait_recorded(js, "ComplaintResolved", complaint_id="CP-ok")
    # CP-ok's apology deadline is cancelled, its SLA ones wait for the close; CP-late's pending
    await until_filed(service, 5)
    await service.stop()

    clock.advance(timedelta(hours=49))
    service = await started(settings, clock)
    try:
        await wait_recorded(js, "ComplaintEscalated", complaint_id="CP-late", count=2)
        await service.relay.drain()  # type: ignore[union-attr]
        events = await read_retention(js)
    finally:
        await service.stop()
    assert of_type(events, "ComplaintEscalated", complaint_id="CP-ok") == []
    assert of_type(events, "ApologyOverdue", complaint_id="CP-ok") == []
    assert len(of_type(events, "ApologyOverdue", complaint_id="CP-late")) == 1


async def test_impossible_steps_are_recorded_as_rejected_and_the_consumer_carries_on(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext, intake: IntakeService
) -> None:
    service = await started(settings, clock)
    try:
        await publish(js, inbound("RemedyAccepted", "CP-nobody"))  # unknown complaint
        await publish(js, inbound("ComplaintFiled", "CP-4"))
        await publish(js, inbound("ComplaintFiled", "CP-4", occurred_at=at(minutes=1)))
        await publish(js, inbound("RemedyAccepted", "CP-4", occurred_at=at(minutes=2)))
        await up_to_investigation(js, "CP-5")
        await publish(js, inbound("RemedyProposed", "CP-5", amount_cny=3000))
        await wait_recorded(js, "RemedyRefused", complaint_id="CP-5")  # still consuming
        events = await read_retention(js)
        dead = await js.stream_info("RETENTION_DLQ")
    finally:
        await service.stop()
    rejected = of_type(events, "ComplaintStepRejected")
    assert [(r.complaint_id, r.why.split(":")[0]) for r in rejected] == [
        ("CP-nobody", "unknown_complaint"),
        ("CP-4", "already_filed"),
        ("CP-4", "no_remedy_proposed"),
    ]
    assert dead.state.messages == 0


async def test_after_a_merge_the_complaint_is_decided_under_the_survivors_subject(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext, intake: IntakeService
) -> None:
    older, newer, vin = "13700137000", "13600136000", "LFV2A21K8G3045678"
    service = await started(settings, clock)
    try:
        # The survivor: the oldest customer, known by a phone and a VIN since yesterday.
        known = inbound(
            "CustomerVisited", customer={"phone": older, "vin": vin}, occurred_at=at(days=-1)
        )
        await publish(js, known)
        filing = inbound("ComplaintFiled", "CP-M", customer={"phone": newer}, vin=None)
        await publish(js, filing)
        await until_filed(service, 2)
        # One registration naming the complainant's phone and the survivor's: intake merges.
        both = inbound(
            "CustomerRegistered",
            customer={"phone": newer},
            phones=[older],
            occurred_at=at(minutes=5),
        )
        await publish(js, both)
        (merged,) = await wait_recorded(js, "CustomersMerged")
        await until_handled(service, js)

        clock.set(T0 + timedelta(hours=2))  # the apology deadline fires after the merge
        await wait_recorded(js, "ApologyOverdue", complaint_id="CP-M")
        steps = [("ApologyIssued", 2.1), ("ComplaintInvestigated", 3), ("RemedyProposed", 4)]
        for event_type, hours in [*steps, ("RemedyAccepted", 5)]:
            step = inbound(
                event_type, "CP-M", customer={"phone": newer}, occurred_at=at(hours=hours)
            )
            await publish(js, step)
        await wait_recorded(js, "ContactRequested", complaint_id="CP-M")
        await service.relay.drain()  # type: ignore[union-attr]
        events = await read_retention(js)
        subjects = await retention_subjects(js)
    finally:
        await service.stop()

    (filed,) = of_type(events, "ComplaintFiled")
    survivor = merged.survivor_id
    assert merged.merged_ids == [filed.customer_id] and survivor != filed.customer_id
    clocks, _ = of_type(events, "ComplaintClockSet")
    assert clocks.customer_id == filed.customer_id, "set at filing, before the merge"
    decided = [e for e in events if e.source == "complaints" and e != clocks]
    assert [e.event_type for e in decided] == [
        "ApologyOverdue",
        "ComplaintEscalated",
        "ComplaintClockSet",
        "ComplaintResolved",
        "ContactRequested",
    ]
    for made in decided:
        assert made.customer_id == survivor
        assert subjects[str(made.event_id)] == f"retention.demo-4s.{survivor}.{made.event_type}"
    assert of_type(events, "ComplaintStepRejected") == []
    (resolved,) = of_type(events, "ComplaintResolved")
    assert resolved.causation_id == of_type(events, "RemedyAccepted")[0].event_id


async def test_an_unanswered_callback_is_retried_then_closed_unreachable_once_each(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext, intake: IntakeService
) -> None:
    async def report(follow_up_id: str, outcome: str, days: float) -> dict[str, object]:
        """The call-centre reports an attempt `days` after the resolution (at T0 + 2 h)."""
        clock.set(T0 + timedelta(hours=2, days=days, minutes=1))  # intake refuses the future
        event = inbound(
            "FollowUpCompleted",
            follow_up_id=follow_up_id,
            outcome=outcome,
            satisfaction=None,
            occurred_at=at(hours=2, days=days),
        )
        await publish(js, event)
        return event

    service = await started(settings, clock)
    try:
        await up_to_investigation(js, "CP-6")
        await publish(js, inbound("RemedyProposed", "CP-6", occurred_at=at(hours=1)))
        await publish(js, inbound("RemedyAccepted", "CP-6", occurred_at=at(hours=2)))
        (first,) = await wait_recorded(js, "ContactRequested")
        unanswered = await report(first.follow_up_id, "no_answer", days=3)
        await wait_recorded(js, "ContactRequested", count=2)
        await publish(js, unanswered)  # redelivered as is: intake records it once
        await report(first.follow_up_id, "no_answer", days=3.1)  # reported twice: no new try
    finally:
        await service.stop()

    service = await started(settings, clock)  # the attempts survive a restart
    try:
        second = of_type(await read_retention(js), "ContactRequested")[1]
        await report(second.follow_up_id, "no_answer", days=4)
        third = (await wait_recorded(js, "ContactRequested", count=3))[2]
        await report(third.follow_up_id, "wrong_number", days=5)
        (closed,) = await wait_recorded(js, "ComplaintClosed")
        await service.relay.drain()  # type: ignore[union-attr]
        events = await read_retention(js)
    finally:
        await service.stop()

    due = of_type(events, "ContactRequested")
    assert len(due) == 3 and len({d.follow_up_id for d in due}) == 3
    assert [d.not_before for d in due] == [
        T0 + timedelta(hours=2, days=3),
        T0 + timedelta(hours=2, days=4),
        T0 + timedelta(hours=2, days=5),
    ]
    assert [d.detail.get("attempt") for d in due] == [None, "2", "3"]
    assert {d.detail.get("retry_of", d.follow_up_id) for d in due} == {first.follow_up_id}
    assert len(of_type(events, "FollowUpCompleted")) == 4  # the redelivery is not recorded
    assert (closed.satisfaction, closed.follow_up_id) == (None, third.follow_up_id)
    assert of_type(events, "ComplaintClosed") == [closed]
    assert of_type(events, "ComplaintStepRejected") == []
