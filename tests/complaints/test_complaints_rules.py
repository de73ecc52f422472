"""The complaint rules, one test per rule, on the pure rules (no NATS, no store, no clock).

These count every hour (the calendar clock) so that the steps' arithmetic stays plain; the
opening-hours clock has its own tests (test_complaints_calendar.py), as has escalation
(test_complaints_escalation.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from complaints_support import CUSTOMER, T0, at, recorded
from pydantic import ValidationError

from services.complaints.aggregates import Complaint
from services.complaints.ids import (
    APOLOGY,
    GENERAL_MANAGER,
    SLA,
    complaint_of_callback,
    deadline_key,
)
from services.complaints.rules import Outcome, callback_completed, deadline_passed, decide
from services.complaints.settings import ComplaintSettings, Policy

POLICY = Policy(clock="calendar")


def made(outcome: Outcome) -> list[Any]:
    """The decisions, typed loosely so tests can read each model's fields."""
    return list(outcome.decisions)


def types(outcome: Outcome) -> list[str]:
    return [d.event_type for d in made(outcome)]


def filed(policy: Policy = POLICY, **overrides: Any) -> Complaint:
    outcome = decide(None, recorded("ComplaintFiled", **overrides), policy)
    assert outcome.complaint is not None
    return outcome.complaint


def step(complaint: Complaint, event_type: str, policy: Policy = POLICY, **kw: Any) -> Outcome:
    return decide(complaint, recorded(event_type, **kw), policy)


def at_step_3(policy: Policy = POLICY) -> Complaint:
    complaint = filed(policy)
    step(complaint, "ApologyIssued", occurred_at=at(minutes=10))
    step(complaint, "ComplaintInvestigated", occurred_at=at(minutes=30))
    return complaint


def proposed(role: str = "advisor", amount: int = 500, hours: float = 2) -> Complaint:
    complaint = at_step_3()
    outcome = step(
        complaint, "RemedyProposed", role=role, amount_cny=amount, occurred_at=at(hours=hours)
    )
    assert made(outcome) == []
    return complaint


def resolved(hours: float = 3) -> tuple[Complaint, Outcome]:
    complaint = proposed()
    return complaint, step(complaint, "RemedyAccepted", occurred_at=at(hours=hours))


# -- step 1: filing ------------------------------------------------------------------------


def test_filing_opens_the_complaint_at_step_1_and_schedules_apology_and_sla_deadlines() -> None:
    outcome = decide(None, recorded("ComplaintFiled", severity="medium"), POLICY)
    complaint = outcome.complaint
    assert complaint is not None and complaint.step == 1 and complaint.customer_id == CUSTOMER
    due = {spec.kind: spec.due_at for spec in outcome.schedule}
    assert due == {
        APOLOGY: T0 + timedelta(hours=1),
        SLA: T0 + timedelta(hours=48),
        GENERAL_MANAGER: T0 + timedelta(hours=96),  # twice the SLA
    }


def test_filing_records_the_clocks_it_runs_so_that_no_reader_computes_them() -> None:
    outcome = decide(None, recorded("ComplaintFiled", severity="medium"), POLICY)
    (clocks,) = made(outcome)
    assert clocks.event_type == "ComplaintClockSet"
    assert (clocks.apology_due_at, clocks.sla_due_at, clocks.general_manager_due_at) == (
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=48),
        T0 + timedelta(hours=96),
    )
    assert (clocks.clock, clocks.apology_within_hours, clocks.sla_hours) == ("calendar", 1, 48)


def test_a_second_filing_with_the_same_id_is_rejected_and_changes_nothing() -> None:
    complaint = filed()
    outcome = step(complaint, "ComplaintFiled", occurred_at=at(minutes=5))
    assert types(outcome) == ["ComplaintStepRejected"]
    assert made(outcome)[0].why.startswith("already_filed")
    assert outcome.complaint is None and outcome.schedule == []
    assert complaint.filed_at == T0


def test_a_step_for_an_unknown_complaint_is_rejected_under_the_events_customer() -> None:
    event = recorded("RemedyProposed", complaint_id="CP-404", customer_id="c-9")
    outcome = decide(None, event, POLICY)
    (rejected,) = made(outcome)
    assert rejected.event_type == "ComplaintStepRejected"
    assert rejected.why.startswith("unknown_complaint")
    assert (rejected.customer_id, rejected.complaint_id) == ("c-9", "CP-404")
    assert rejected.attempted == "RemedyProposed" and rejected.causation_id == event.event_id


# -- step 2: apology --------------------------------------------------------------------------


def test_an_apology_in_time_reaches_step_2_keeps_the_time_and_cancels_its_deadline() -> None:
    complaint = filed()
    outcome = step(complaint, "ApologyIssued", occurred_at=at(minutes=30))
    assert types(outcome) == ["ComplaintClockSet"] and complaint.step == 2
    assert complaint.hours_to_apology == 0.5
    (clocks,) = made(outcome)  # the apology clock stopped: how long it ran, in both clocks
    assert clocks.hours_to_apology == 0.5 and clocks.business_hours_to_apology is not None
    assert outcome.cancel == [deadline_key(complaint.id, APOLOGY)]


def test_apology_deadline_passing_without_apology_records_overdue_and_escalates() -> None:
    complaint = filed()
    outcome = deadline_passed(complaint, APOLOGY, complaint.apology_due_at, POLICY)
    assert types(outcome) == ["ApologyOverdue", "ComplaintEscalated"]
    overdue, escalated = made(outcome)
    assert overdue.due_at == T0 + timedelta(hours=1) == overdue.occurred_at
    assert (escalated.why, escalated.escalated_to) == ("apology_overdue", "manager")
    assert escalated.causation_id == complaint.filed_event_id


def test_apology_deadline_after_the_apology_decides_nothing() -> None:
    complaint = filed()
    step(complaint, "ApologyIssued", occurred_at=at(minutes=30))
    assert deadline_passed(complaint, APOLOGY, complaint.apology_due_at, POLICY).decisions == []


def test_a_late_apology_records_the_same_overdue_decisions_once() -> None:
    filing = recorded("ComplaintFiled")
    fired, unfired = (decide(None, filing, POLICY).complaint for _ in range(2))
    assert fired is not None and unfired is not None
    by_deadline = deadline_passed(fired, APOLOGY, fired.apology_due_at, POLICY).decisions
    late = step(fired, "ApologyIssued", occurred_at=at(hours=3))
    assert types(late) == ["ComplaintClockSet"] and fired.step == 2  # not decided twice

    by_event = step(unfired, "ApologyIssued", occurred_at=at(hours=3)).decisions
    overdue = [d for d in by_event if d.event_type != "ComplaintClockSet"]
    assert [d.event_id for d in overdue] == [d.event_id for d in by_deadline]
    assert unfired.hours_to_apology == 3


def test_a_second_apology_is_rejected() -> None:
    complaint = filed()
    step(complaint, "ApologyIssued", occurred_at=at(minutes=10))
    outcome = step(complaint, "ApologyIssued", occurred_at=at(minutes=20))
    assert types(outcome) == ["ComplaintStepRejected"]
    assert complaint.apologised_at == T0 + timedelta(minutes=10)


# -- step 3: investigation -----------------------------------------------------------------


def test_investigation_reaches_step_3_and_keeps_the_answers() -> None:
    complaint = at_step_3()
    assert complaint.step == 3 and complaint.answers is not None
    assert complaint.answers["wanted_resolution"]


def test_investigation_before_the_apology_is_rejected() -> None:
    complaint = filed()
    outcome = step(complaint, "ComplaintInvestigated", occurred_at=at(minutes=5))
    assert types(outcome) == ["ComplaintStepRejected"]
    assert complaint.step == 1 and complaint.answers is None


# -- step 4: remedy and authority ------------------------------------------------------------


def test_a_remedy_before_the_investigation_is_rejected() -> None:
    complaint = filed()
    step(complaint, "ApologyIssued", occurred_at=at(minutes=5))
    outcome = step(complaint, "RemedyProposed", occurred_at=at(minutes=20))
    assert types(outcome) == ["ComplaintStepRejected"]
    assert complaint.pending_remedy is None


def test_a_remedy_within_authority_reaches_step_4() -> None:
    complaint = proposed(role="advisor", amount=2000)
    assert complaint.step == 4 and complaint.pending_remedy is not None
    assert complaint.pending_remedy["amount_cny"] == Decimal(2000)


def test_an_advisor_remedy_of_5000_is_refused_and_stays_unapplied_at_step_4() -> None:
    complaint = at_step_3()
    outcome = step(complaint, "RemedyProposed", role="advisor", amount_cny=5000, remedy="refund")
    (refused,) = made(outcome)
    assert refused.event_type == "RemedyRefused"
    assert (refused.amount_cny, refused.limit_cny, refused.role) == (5000, 2000, "advisor")
    assert refused.why.startswith("above_authority")
    assert complaint.step == 4 and complaint.pending_remedy is None
    assert complaint.remedies[-1]["status"] == "refused"
    accept = step(complaint, "RemedyAccepted")
    assert types(accept) == ["ComplaintStepRejected"]


def test_the_same_5000_by_a_manager_is_accepted() -> None:
    complaint = at_step_3()
    outcome = step(complaint, "RemedyProposed", role="manager", amount_cny=5000)
    assert made(outcome) == [] and complaint.pending_remedy is not None


def test_a_manager_above_20000_is_refused_and_a_general_manager_is_unlimited() -> None:
    complaint = at_step_3()
    refused = step(complaint, "RemedyProposed", role="manager", amount_cny=25000)
    assert types(refused) == ["RemedyRefused"] and made(refused)[0].limit_cny == 20000
    allowed = step(complaint, "RemedyProposed", role="general_manager", amount_cny=900000)
    assert made(allowed) == [] and complaint.pending_remedy is not None


def test_authority_limits_are_settings_per_dealership() -> None:
    settings = ComplaintSettings(dealerships={"strict-4s": {"advisor_limit_cny": 100}})
    assert settings.policy("strict-4s").limit("advisor") == 100
    assert settings.policy("other").limit("advisor") == 2000
    complaint = at_step_3()
    outcome = decide(
        complaint, recorded("RemedyProposed", amount_cny=500), settings.policy("strict-4s")
    )
    assert types(outcome) == ["RemedyRefused"]


# -- step 5: the customer accepts or rejects -----------------------------------------------------


def test_acceptance_before_a_proposal_is_rejected() -> None:
    complaint = at_step_3()
    outcome = step(complaint, "RemedyAccepted")
    assert types(outcome) == ["ComplaintStepRejected"]
    assert made(outcome)[0].why.startswith("no_remedy_proposed")
    assert not complaint.resolved


def test_a_rejected_remedy_goes_back_to_step_4_without_a_pending_remedy() -> None:
    complaint = proposed()
    outcome = step(complaint, "RemedyRejected", occurred_at=at(hours=3))
    assert made(outcome) == []
    assert complaint.step == 4 and complaint.pending_remedy is None
    assert complaint.remedies[-1]["status"] == "rejected"
    again = step(complaint, "RemedyProposed", amount_cny=800, occurred_at=at(hours=4))
    assert made(again) == [] and complaint.pending_remedy is not None


def test_acceptance_resolves_and_requests_the_phone_callback_3_days_later() -> None:
    complaint, outcome = resolved(hours=6)
    assert types(outcome) == ["ComplaintResolved", "ContactRequested"]
    done, callback = made(outcome)
    assert (done.hours_to_resolution, done.within_sla) == (6.0, True)
    assert done.resolved_at == T0 + timedelta(hours=6)
    assert callback.reason == "complaint_callback" and callback.channels == ["phone"]
    assert callback.not_before == T0 + timedelta(hours=6, days=3)  # outreach's rules decide
    assert callback.complaint_id == "CP-1" and callback.follow_up_id == complaint.follow_up_id
    assert complaint_of_callback(callback.follow_up_id) == complaint.id
    assert complaint.step == 5
    # The SLA deadlines stay until the close: a dissatisfied call-back may reopen it.
    assert outcome.cancel == [deadline_key(complaint.id, APOLOGY)]


def test_steps_after_resolution_are_rejected() -> None:
    complaint, _ = resolved()
    for event_type in ("RemedyProposed", "RemedyAccepted", "ComplaintInvestigated"):
        assert types(step(complaint, event_type)) == ["ComplaintStepRejected"]


# -- SLA ----------------------------------------------------------------------------------------


def test_sla_passing_unresolved_escalates_to_the_manager_once() -> None:
    complaint = at_step_3()
    first = deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY)
    (escalated,) = made(first)
    assert (escalated.why, escalated.escalated_to, escalated.level) == (
        "sla_breached",
        "manager",
        1,
    )
    assert escalated.occurred_at == T0 + timedelta(hours=48)
    assert deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY).decisions == []


def test_sla_deadline_after_resolution_in_time_decides_nothing() -> None:
    complaint, outcome = resolved(hours=47)
    assert made(outcome)[0].within_sla is True
    assert deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY).decisions == []


def test_a_resolution_after_the_sla_is_not_within_sla_and_escalates_once() -> None:
    complaint = proposed()
    outcome = step(complaint, "RemedyAccepted", occurred_at=at(hours=50))
    assert types(outcome) == ["ComplaintEscalated", "ComplaintResolved", "ContactRequested"]
    assert made(outcome)[1].within_sla is False
    assert deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY).decisions == []


def test_durations_are_settings_per_dealership() -> None:
    settings = ComplaintSettings(
        dealerships={
            "fast-4s": {
                "clock": "calendar",
                "sla": "PT24H",
                "apology_within": 600,
                "callback_after": "P1D",
            }
        }
    )
    policy = settings.policy("fast-4s")
    outcome = decide(None, recorded("ComplaintFiled"), policy)
    due = {spec.kind: spec.due_at for spec in outcome.schedule}
    assert due == {
        APOLOGY: T0 + timedelta(minutes=10),
        SLA: T0 + timedelta(hours=24),
        GENERAL_MANAGER: T0 + timedelta(hours=48),
    }
    assert policy.callback_after == timedelta(days=1)


# -- step 6: the call-back ------------------------------------------------------------------------


def test_the_callback_closes_step_6_with_the_satisfaction() -> None:
    complaint, _ = resolved()
    assert complaint.follow_up_id is not None
    event = recorded(
        "FollowUpCompleted", follow_up_id=complaint.follow_up_id, satisfaction=8, outcome="reached"
    )
    outcome = callback_completed(complaint, event, POLICY)
    (closed,) = made(outcome)
    assert closed.event_type == "ComplaintClosed" and closed.satisfaction == 8
    assert complaint.step == 6 and complaint.satisfaction == 8
    again = callback_completed(complaint, event.model_copy(update={"event_id": uuid4()}), POLICY)
    assert types(again) == ["ComplaintStepRejected"]


def test_a_follow_up_that_is_not_the_complaints_callback_is_ignored() -> None:
    complaint, _ = resolved()
    event = recorded("FollowUpCompleted", follow_up_id="fu-1")
    outcome = callback_completed(complaint, event, POLICY)
    assert outcome == Outcome()
    assert complaint_of_callback("fu-1") is None


def test_a_closed_complaint_refuses_further_steps() -> None:
    complaint, _ = resolved()
    assert complaint.follow_up_id is not None
    callback_completed(
        complaint, recorded("FollowUpCompleted", follow_up_id=complaint.follow_up_id), POLICY
    )
    assert types(step(complaint, "RemedyRejected")) == ["ComplaintStepRejected"]


def test_step_timestamps_are_kept_for_each_step() -> None:
    complaint, _ = resolved(hours=3)
    assert complaint.step_times == {
        1: T0,
        2: T0 + timedelta(minutes=10),
        3: T0 + timedelta(minutes=30),
        4: T0 + timedelta(hours=2),
        5: T0 + timedelta(hours=3),
    }


def test_a_bad_dealership_override_is_refused_when_the_settings_are_built() -> None:
    with pytest.raises(ValidationError):
        ComplaintSettings(dealerships={"x": {"advisor_limit_cny": -1}})
    with pytest.raises(ValidationError):
        ComplaintSettings(dealerships={"x": {"no_such_setting": 1}})


def test_settings_come_from_laoke_complaints_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAOKE_COMPLAINTS_SLA", "PT24H")
    monkeypatch.setenv("LAOKE_COMPLAINTS_DEALERSHIPS", '{"gm-4s": {"manager_limit_cny": 50000}}')
    settings = ComplaintSettings()  # one duration: every severity's SLA
    assert settings.policy("any").sla_for("low") == timedelta(hours=24)
    assert settings.policy("any").sla_for("high") == timedelta(hours=24)
    assert settings.policy("gm-4s").limit("manager") == 50000
