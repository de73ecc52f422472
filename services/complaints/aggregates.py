"""The complaints service's aggregates: each complaint, and each customer's complaint list.

`Complaint` (one per dealership + complaint id) follows one complaint through the six steps
(docs/domain.md "Complaints and the six steps") and keeps what later decisions need of its
filing. `CustomerComplaints` (one per dealership + customer id) lists the complaints filed
under (or merged into) a customer, so a merge can move them (customers.py). State only: each
method records one event; rules.py decides which. No I/O, no clock reads.

A complaint belongs to a customer id that can change: when intake merges that customer into
another (`CustomersMerged`), `follow_merge` moves the complaint to the survivor, so every
later decision is recorded under the survivor's id.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from laoke.decisions import Cause
from services.complaints.ids import complaint_aggregate_id, customer_complaints_id


class Complaint(Aggregate):
    """One complaint through the six steps, with what later decisions need of its filing."""

    @staticmethod
    def create_id(dealership_id: str, complaint_id: str) -> UUID:
        return complaint_aggregate_id(dealership_id, complaint_id)

    @event("Filed")
    def __init__(
        self,
        dealership_id: str,
        complaint_id: str,
        customer_id: str,
        category: str,
        severity: str,
        filed_at: datetime,
        filed_event_id: UUID,
        correlation_id: UUID,
        apology_due_at: datetime,
        sla_due_at: datetime,
        watched: bool = True,
        general_manager_due_at: datetime | None = None,
        clock: str = "calendar",
    ) -> None:
        # Complaints filed before the clocks had these (older stores) ran by every hour and
        # have no general-manager due time.
        self.dealership_id = dealership_id
        self.complaint_id = complaint_id
        self.customer_id = customer_id
        self.category = category
        self.severity = severity
        self.filed_at = filed_at
        self.filed_event_id = filed_event_id
        self.filed_correlation_id = correlation_id
        self.apology_due_at = apology_due_at
        self.sla_due_at = sla_due_at
        # Filed as it happened (not reported after the fact): a backdated step then counts
        # at its receipt (events.timing.counted_at).
        self.watched = watched
        self.general_manager_due_at = general_manager_due_at
        self.clock = clock
        self.step = 1
        self.step_times: dict[int, datetime] = {1: filed_at}
        self.apologised_at: datetime | None = None
        self.apology_overdue = False
        self.answers: dict[str, Any] | None = None
        self.remedies: list[dict[str, Any]] = []  # every proposal: proposed/refused/…
        self.pending_remedy: dict[str, Any] | None = None
        self.resolved_at: datetime | None = None
        self.unresolved_since = filed_at  # filing, or the latest reopening
        self.reopenings: list[dict[str, Any]] = []
        self.follow_up_id: str | None = None  # the latest call-back attempt
        self.callback_ids: list[str] = []  # every attempt's follow-up id, first first
        self.round_start = 0  # index in callback_ids of this resolution's first call-back
        self.callback_due_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.satisfaction: int | None = None
        self.unreachable = False  # closed after the last call-back went unanswered
        self.not_called: str | None = None  # closed because the call-back was refused
        self.escalations: list[str] = []  # each escalation's why, in order
        self.escalation_levels: list[int] = []  # and its level (1 manager, 2 general manager)
        self.merged_from: list[str] = []  # earlier customer ids, oldest first

    # -- state changes (each one event) -----------------------------------------------------
    def _reach(self, step: int, at: datetime) -> None:
        self.step = step
        self.step_times[step] = at

    @event("Apologised")
    def apologise(self, at: datetime, issued_by: str) -> None:
        self.apologised_at = at
        self._reach(2, at)

    @event("ApologyMarkedOverdue")
    def mark_apology_overdue(self) -> None:
        self.apology_overdue = True

    @event("Investigated")
    def investigate(self, at: datetime, answers: dict[str, Any]) -> None:
        self.answers = answers
        if self.step < 3:
            self._reach(3, at)

    @event("RemedyProposed")
    def propose_remedy(
        self, at: datetime, remedy: str, amount_cny: Decimal, proposed_by: str, role: str
    ) -> None:
        proposal = {
            "at": at,
            "remedy": remedy,
            "amount_cny": amount_cny,
            "proposed_by": proposed_by,
            "role": role,
            "status": "proposed",
        }
        if self.pending_remedy is not None:
            self.pending_remedy["status"] = "superseded"
        self.remedies.append(proposal)
        self.pending_remedy = proposal
        self._reach(4, at)

    @event("RemedyRefused")
    def refuse_remedy(
        self, at: datetime, remedy: str, amount_cny: Decimal, proposed_by: str, role: str
    ) -> None:
        self.remedies.append(
            {
                "at": at,
                "remedy": remedy,
                "amount_cny": amount_cny,
                "proposed_by": proposed_by,
                "role": role,
                "status": "refused",
            }
        )
        if self.step < 4:
            self._reach(4, at)

    @event("RemedyRejected")
    def reject_remedy(self, at: datetime) -> None:
        assert self.pending_remedy is not None
        self.pending_remedy["status"] = "rejected"
        self.pending_remedy = None
        self._reach(4, at)  # back to step 4: a new remedy is needed

    @event("Resolved")
    def resolve(self, at: datetime, follow_up_id: str, callback_due_at: datetime) -> None:
        assert self.pending_remedy is not None
        self.pending_remedy["status"] = "accepted"
        self.pending_remedy = None
        self.resolved_at = at
        self.follow_up_id = follow_up_id
        self.callback_ids.append(follow_up_id)
        self.callback_due_at = callback_due_at
        self._reach(5, at)

    @event("Escalated")
    def escalate(self, at: datetime, why: str, level: int | None = None) -> None:
        self.escalations.append(why)
        self.escalation_levels.append(level or 1)  # older records: one level, the manager

    @event("Reopened")
    def reopen(self, at: datetime, follow_up_id: str, satisfaction: int | None) -> None:
        """Step 6 found the customer dissatisfied: back to step 4, a new remedy is needed."""
        for remedy in self.remedies:
            if remedy["status"] == "accepted":
                remedy["status"] = "reopened"
        self.reopenings.append(
            {"at": at, "follow_up_id": follow_up_id, "satisfaction": satisfaction}
        )
        self.resolved_at = None
        self.unresolved_since = at
        self.callback_due_at = None
        self.round_start = len(self.callback_ids)
        for later in (5, 6):
            self.step_times.pop(later, None)
        self._reach(4, at)

    @event("Closed")
    def close(self, at: datetime, satisfaction: int | None) -> None:
        self.closed_at = at
        self.satisfaction = satisfaction
        self._reach(6, at)

    @event("CallbackRetried")
    def retry_callback(self, at: datetime, follow_up_id: str, due_at: datetime) -> None:
        self.follow_up_id = follow_up_id
        self.callback_ids.append(follow_up_id)
        self.callback_due_at = due_at

    @event("ClosedUnreachable")
    def close_unreachable(self, at: datetime) -> None:
        self.closed_at = at
        self.unreachable = True
        self._reach(6, at)

    @event("ClosedNotCalled")
    def close_not_called(self, at: datetime, outcome: str) -> None:
        """The contact rules refused the call-back (opted out, or no working channel)."""
        self.closed_at = at
        self.unreachable = outcome == "unreachable"
        self.not_called = outcome
        self._reach(6, at)

    @event("CustomerMerged")
    def follow_merge(self, survivor_id: str) -> None:
        """The customer was merged into `survivor_id`: the complaint is the survivor's now."""
        self.merged_from.append(self.customer_id)
        self.customer_id = survivor_id

    @event("CustomerSplit")
    def follow_split(self, restored_id: str) -> None:
        """A merge undone gave the complaint back to `restored_id` (the customer it was filed
        under, or one it passed through, or the one intake re-attributed its filing to)."""
        if restored_id in self.merged_from:
            self.merged_from = self.merged_from[: self.merged_from.index(restored_id)]
        self.customer_id = restored_id

    # -- reading ------------------------------------------------------------------------------
    @property
    def cause(self) -> Cause:
        """The filing, as the cause of decisions a deadline fires later."""
        return Cause(
            self.filed_event_id, self.filed_correlation_id, self.dealership_id, self.customer_id
        )

    @property
    def hours_to_apology(self) -> float | None:
        if self.apologised_at is None:
            return None
        return hours_between(self.filed_at, self.apologised_at)

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def callback_attempt(self) -> int:
        """How many call-back attempts this resolution scheduled (0 before it)."""
        return len(self.callback_ids) - self.round_start

    @property
    def round_callbacks(self) -> list[str]:
        """The follow-up ids of this resolution's call-back attempts, first first."""
        return self.callback_ids[self.round_start :]

    def resolution_level(self) -> int:
        """How far the resolution has been escalated: 0, 1 (manager), 2 (general manager).
        An apology-overdue escalation is about the apology, not the resolution."""
        levels = [
            level
            for why, level in zip(self.escalations, self.escalation_levels, strict=True)
            if why != "apology_overdue"
        ]
        return max(levels, default=0)


def hours_between(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


class CustomerComplaints(Aggregate):
    """The complaint ids filed under (or merged into) one customer of one dealership."""

    @staticmethod
    def create_id(dealership_id: str, customer_id: str) -> UUID:
        return customer_complaints_id(dealership_id, customer_id)

    @event("Started")
    def __init__(self, dealership_id: str, customer_id: str) -> None:
        self.dealership_id = dealership_id
        self.customer_id = customer_id
        self.complaint_ids: list[str] = []
        self.merged_into: str | None = None

    @event("Added")
    def add(self, complaint_ids: list[str]) -> None:
        self.complaint_ids.extend(c for c in complaint_ids if c not in self.complaint_ids)

    @event("MergedInto")
    def merge_into(self, survivor_id: str) -> None:
        self.merged_into = survivor_id
        self.complaint_ids = []  # the survivor's list holds them now

    @event("Removed")
    def remove(self, complaint_ids: list[str]) -> None:
        self.complaint_ids = [c for c in self.complaint_ids if c not in complaint_ids]

    @event("Unmerged")
    def unmerge(self) -> None:
        self.merged_into = None


# Stores written before these classes moved here name them (and their events) by their old
# modules: those topics still resolve, so such stores load as before.
register_topic("services.complaints.domain:Complaint", Complaint)
register_topic("services.complaints.customers:CustomerComplaints", CustomerComplaints)
