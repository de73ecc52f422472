"""Escalation (docs/complaints.md "Escalation"), pure: who hears of a complaint, and when.

Two levels, each once: 1 the manager, 2 the general manager. A complaint unresolved at its
SLA goes to the manager; still unresolved at `general_manager_after` SLAs (default twice
the SLA), or at the SLA itself for a severity in `general_manager_at_once` (default high),
to the general manager. A call-back that finds the customer dissatisfied reopens the
complaint and takes it one level up. An overdue apology is its own escalation (to
`escalate_to`), about the apology rather than the resolution, and also happens once.

Escalations the clock decides are dated at their due time and caused by the filing, so a
deadline and a late event that notice the same breach record the same decision (same id).
"""

from __future__ import annotations

from datetime import datetime

from events import ApologyOverdue, ComplaintEscalated, Event
from laoke.decisions import CauseLike, decision
from services.complaints.aggregates import Complaint
from services.complaints.outcomes import SERVICE
from services.complaints.settings import Policy

LEVELS = {1: "manager", 2: "general_manager"}


def escalation(
    complaint: Complaint, why: str, level: int, at: datetime, cause: CauseLike | None = None
) -> Event:
    """Escalate `complaint` to `level`; the decision's name keeps the older ids of the
    first level (one level was all there was)."""
    complaint.escalate(at=at, why=why, level=level)
    name = why if level == 1 or why == "apology_overdue" else f"{why}:{LEVELS[level]}"
    return decision(
        ComplaintEscalated,
        cause or complaint.cause,
        source=SERVICE,
        occurred_at=at,
        name=name,
        customer_id=complaint.customer_id,
        complaint_id=complaint.complaint_id,
        escalated_to=LEVELS[level],
        why=why,
        level=level,
    )


def apology_overdue(complaint: Complaint, policy: Policy) -> list[Event]:
    """The apology came (or will come) after its due time: record it and escalate, once.
    The same decisions (same ids) whether a deadline or a late apology notices it first."""
    if complaint.apology_overdue:
        return []
    due = complaint.apology_due_at
    complaint.mark_apology_overdue()
    overdue = decision(
        ApologyOverdue,
        complaint.cause,
        source=SERVICE,
        occurred_at=due,
        complaint_id=complaint.complaint_id,
        due_at=due,
    )
    level = 1 if policy.escalate_to == "manager" else 2
    return [overdue, escalation(complaint, "apology_overdue", level, due)]


def level_due(complaint: Complaint, level: int) -> datetime | None:
    """When an unresolved complaint reaches `level` (None: never, e.g. filed before the
    general-manager level existed)."""
    return complaint.sla_due_at if level == 1 else complaint.general_manager_due_at


def sla_breaches(complaint: Complaint, until: datetime, *, inclusive: bool) -> list[Event]:
    """The levels whose due time came while the complaint was unresolved, up to `until`
    (a deadline's due time, inclusive; a resolution's time, exclusive: resolved at the
    due time is in time). A due time before the latest reopening was met by the
    resolution that the reopening undid: only the reopening escalates for it."""
    made: list[Event] = []
    for level in (1, 2):
        due = level_due(complaint, level)
        if due is None or complaint.resolution_level() >= level:
            continue
        came = due <= until if inclusive else due < until
        if came and complaint.unresolved_since <= due:
            made.append(escalation(complaint, "sla_breached", level, due))
    return made


def dissatisfied(complaint: Complaint, cause: Event) -> list[Event]:
    """A reopening takes the complaint one level up (none when it is at the top)."""
    level = complaint.resolution_level() + 1
    if level not in LEVELS:
        return []
    return [escalation(complaint, "callback_dissatisfied", level, cause.occurred_at, cause)]
