"""Severity and the two escalation levels (docs/complaints.md "Escalation"), pure rules.

Filed on a Tuesday at 14:00 local (Asia/Shanghai), in the default opening hours
(09:00-21:00 every day): 24 opening hours later is Thursday 14:00, 48 Saturday 14:00,
72 Monday 14:00, 96 Wednesday 14:00 and 144 the Sunday after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from complaints_support import recorded

from services.complaints.aggregates import Complaint
from services.complaints.ids import APOLOGY, GENERAL_MANAGER, SLA
from services.complaints.rules import Outcome, deadline_passed, decide
from services.complaints.settings import Policy

CN = ZoneInfo("Asia/Shanghai")
POLICY = Policy()
FILED = datetime(2026, 3, 10, 14, 0, tzinfo=CN)  # a Tuesday


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CN)


def filed(severity: str, policy: Policy = POLICY) -> tuple[Complaint, Outcome]:
    event = recorded("ComplaintFiled", occurred_at=FILED.isoformat(), severity=severity)
    outcome = decide(None, event, policy)
    assert outcome.complaint is not None
    return outcome.complaint, outcome


def escalations(outcome: Outcome) -> list[tuple[str, str, int, datetime]]:
    found: list[Any] = [d for d in outcome.decisions if d.event_type == "ComplaintEscalated"]
    return [(e.why, e.escalated_to, e.level, e.occurred_at) for e in found]


def up_to_remedy(complaint: Complaint, policy: Policy = POLICY) -> None:
    for event_type, at in (
        ("ApologyIssued", "2026-03-10 14:20"),
        ("ComplaintInvestigated", "2026-03-10 15:00"),
        ("RemedyProposed", "2026-03-10 16:00"),
    ):
        decide(complaint, recorded(event_type, occurred_at=local(at).isoformat()), policy)


@pytest.mark.parametrize(
    ("severity", "sla_due", "general_manager_due", "hours"),
    [
        ("high", "2026-03-12 14:00", "2026-03-12 14:00", 24),  # the general manager at once
        ("medium", "2026-03-14 14:00", "2026-03-18 14:00", 48),
        ("low", "2026-03-16 14:00", "2026-03-22 14:00", 72),
    ],
)
def test_severity_sets_the_sla_in_opening_hours_and_the_general_manager_at_twice_it(
    severity: str, sla_due: str, general_manager_due: str, hours: int
) -> None:
    complaint, outcome = filed(severity)
    (clocks,) = outcome.decisions
    assert clocks.sla_due_at == complaint.sla_due_at == local(sla_due)  # type: ignore[attr-defined]
    assert clocks.general_manager_due_at == local(general_manager_due)  # type: ignore[attr-defined]
    assert clocks.sla_hours == hours  # type: ignore[attr-defined]
    kinds = {spec.kind for spec in outcome.schedule}
    # A high-severity complaint's SLA deadline escalates to both levels: no third deadline.
    assert kinds == ({APOLOGY, SLA} if severity == "high" else {APOLOGY, SLA, GENERAL_MANAGER})


def test_unresolved_it_goes_to_the_manager_then_to_the_general_manager_once_each() -> None:
    complaint, _ = filed("medium")
    at_sla = deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY)
    assert escalations(at_sla) == [("sla_breached", "manager", 1, local("2026-03-14 14:00"))]
    gm_due = complaint.general_manager_due_at
    assert gm_due is not None
    at_twice = deadline_passed(complaint, GENERAL_MANAGER, gm_due, POLICY)
    assert escalations(at_twice) == [
        ("sla_breached", "general_manager", 2, local("2026-03-18 14:00"))
    ]
    assert deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY).decisions == []
    assert deadline_passed(complaint, GENERAL_MANAGER, gm_due, POLICY).decisions == []


def test_a_high_severity_complaint_goes_to_the_general_manager_as_soon_as_it_breaches() -> None:
    complaint, _ = filed("high")
    at_sla = deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY)
    due = local("2026-03-12 14:00")
    assert escalations(at_sla) == [
        ("sla_breached", "manager", 1, due),
        ("sla_breached", "general_manager", 2, due),
    ]


def test_resolved_between_the_levels_it_never_reaches_the_general_manager() -> None:
    complaint, _ = filed("medium")
    up_to_remedy(complaint)
    deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY)
    accepted = recorded("RemedyAccepted", occurred_at=local("2026-03-15 10:00").isoformat())
    outcome = decide(complaint, accepted, POLICY)
    assert escalations(outcome) == []  # the manager had it already
    resolved: Any = outcome.decisions[0]
    assert resolved.event_type == "ComplaintResolved" and resolved.within_sla is False
    gm_due = complaint.general_manager_due_at
    assert gm_due is not None
    assert deadline_passed(complaint, GENERAL_MANAGER, gm_due, POLICY).decisions == []


def test_a_late_resolution_records_the_breaches_the_deadlines_would_have_same_ids() -> None:
    filing = recorded("ComplaintFiled", occurred_at=FILED.isoformat(), severity="medium")
    by_deadlines, by_event = (decide(None, filing, POLICY).complaint for _ in range(2))
    assert by_deadlines is not None and by_event is not None
    gm_due = by_deadlines.general_manager_due_at
    assert gm_due is not None
    fired = [
        *deadline_passed(by_deadlines, SLA, by_deadlines.sla_due_at, POLICY).decisions,
        *deadline_passed(by_deadlines, GENERAL_MANAGER, gm_due, POLICY).decisions,
    ]
    up_to_remedy(by_event)
    late = recorded("RemedyAccepted", occurred_at=local("2026-03-20 10:00").isoformat())
    noticed = [
        d for d in decide(by_event, late, POLICY).decisions if d.event_type == "ComplaintEscalated"
    ]
    assert [d.event_id for d in noticed] == [d.event_id for d in fired]
    assert [d.level for d in noticed] == [1, 2]  # type: ignore[attr-defined]


def test_the_second_level_is_a_setting() -> None:
    policy = Policy(general_manager_after=3, general_manager_at_once=[], clock="calendar")
    complaint, outcome = filed("high", policy)
    (clocks,) = outcome.decisions
    assert clocks.general_manager_due_at == local("2026-03-13 14:00")  # type: ignore[attr-defined]
    at_sla = deadline_passed(complaint, SLA, complaint.sla_due_at, policy)
    assert [level for *_, level, _ in escalations(at_sla)] == [1]


def test_an_overdue_apology_escalates_on_its_own_and_does_not_use_up_the_managers_level() -> None:
    complaint, _ = filed("medium")
    apology = deadline_passed(complaint, APOLOGY, complaint.apology_due_at, POLICY)
    assert escalations(apology) == [("apology_overdue", "manager", 1, local("2026-03-10 15:00"))]
    at_sla = deadline_passed(complaint, SLA, complaint.sla_due_at, POLICY)
    assert [why for why, *_ in escalations(at_sla)] == ["sla_breached"]
