"""Complaints' use cases: load the complaint, let the rules decide, return what to save.

`handle` is the RETENTION consumer's handler (the consumer commits the changes with the
stream position): complaint steps, our call-backs' outcomes, and `CustomersMerged`, which
moves the merged customer's complaints to the survivor (services/complaints/customers.py).
`on_deadline` is the ticker's callback: it returns the complaint and the decisions; the
ticker commits them with the fired deadline.
"""

from __future__ import annotations

import logging
from uuid import UUID

from events import ComplaintEscalated, ComplaintFiled, CustomersMerged, Event, FollowUpCompleted
from laoke.changes import Changes
from laoke.deadlines import Deadline, deadline_id
from laoke.eventstore import ServiceApplication
from services.complaints.aggregates import Complaint, CustomerComplaints
from services.complaints.customers import file_under, merge_customers
from services.complaints.ids import (
    complaint_aggregate_id,
    complaint_of_callback,
    customer_complaints_id,
)
from services.complaints.rules import (
    STEP_TYPES,
    Outcome,
    callback_completed,
    deadline_passed,
    decide,
)
from services.complaints.settings import ComplaintSettings

log = logging.getLogger(__name__)


class Complaints:
    def __init__(self, app: ServiceApplication, settings: ComplaintSettings) -> None:
        self.app = app
        self.settings = settings

    def _complaint(self, aggregate_id: UUID) -> Complaint | None:
        found = self.app.get_or_none(aggregate_id)
        return found if isinstance(found, Complaint) else None

    def _listing(self, dealership_id: str, customer_id: str) -> CustomerComplaints | None:
        found = self.app.get_or_none(customer_complaints_id(dealership_id, customer_id))
        return found if isinstance(found, CustomerComplaints) else None

    def handle(self, event: Event) -> Changes | None:
        """Every RETENTION event comes here; only complaint steps, our call-backs and merges
        matter."""
        if isinstance(event, STEP_TYPES):
            complaint = self._complaint(
                complaint_aggregate_id(event.dealership_id, event.complaint_id)
            )
            outcome = decide(complaint, event, self.settings.policy(event.dealership_id))
        elif isinstance(event, FollowUpCompleted):
            aggregate_id = complaint_of_callback(event.follow_up_id)
            complaint = self._complaint(aggregate_id) if aggregate_id else None
            if complaint is None or complaint.dealership_id != event.dealership_id:
                return None  # another service's follow-up (outreach owns those)
            policy = self.settings.policy(event.dealership_id)
            outcome = callback_completed(complaint, event, policy)
        elif isinstance(event, CustomersMerged):
            return self._merged(event)
        else:
            return None
        changes = self._changes(outcome)
        if isinstance(event, ComplaintFiled) and outcome.complaint is not None:
            filed = outcome.complaint
            listing = self._listing(filed.dealership_id, filed.customer_id)
            changes.add(
                file_under(listing, filed.dealership_id, filed.customer_id, filed.complaint_id)
            )
        return changes

    def _merged(self, event: CustomersMerged) -> Changes | None:
        """Load the merged customers' complaint lists and complaints; the rule moves them."""
        dealership = event.dealership_id
        merged = [
            listing
            for merged_id in event.merged_ids
            if merged_id != event.survivor_id
            and (listing := self._listing(dealership, merged_id)) is not None
            and listing.merged_into is None
        ]
        if not merged:
            return None  # no complaints filed under the merged customers
        survivor = self._listing(dealership, event.survivor_id) or CustomerComplaints(
            dealership_id=dealership, customer_id=event.survivor_id
        )
        complaints = [
            complaint
            for listing in merged
            for complaint_id in listing.complaint_ids
            if (complaint := self._complaint(complaint_aggregate_id(dealership, complaint_id)))
        ]
        return Changes(aggregates=merge_customers(survivor, merged, complaints))

    def _changes(self, outcome: Outcome) -> Changes:
        _log_escalations(outcome)
        changes = Changes(decisions=list(outcome.decisions))
        changes.add(outcome.complaint)
        for spec in outcome.schedule:
            changes.add(Deadline(key=spec.key, kind=spec.kind, ref=spec.ref, due_at=spec.due_at))
        for key in outcome.cancel:
            deadline = self.app.get_or_none(deadline_id(key))
            if isinstance(deadline, Deadline) and deadline.pending:
                deadline.cancel()
                changes.add(deadline)
        return changes

    def on_deadline(self, deadline: Deadline) -> Changes:
        """Called by the ticker once the clock passed `due_at`; decisions are dated then."""
        complaint = self._complaint(UUID(deadline.ref))
        policy = self.settings.policy(complaint.dealership_id if complaint else "")
        outcome = deadline_passed(complaint, deadline.kind, policy)
        deadline.fire(at=deadline.due_at)
        _log_escalations(outcome)
        changes = Changes(decisions=list(outcome.decisions))
        changes.add(outcome.complaint)
        return changes


def _log_escalations(outcome: Outcome) -> None:
    """Escalations are what the customer-care manager acts on: INFO, one line each."""
    for made in outcome.decisions:
        if isinstance(made, ComplaintEscalated):
            log.info(
                "complaint %s escalated to %s: %s", made.complaint_id, made.escalated_to, made.why
            )
