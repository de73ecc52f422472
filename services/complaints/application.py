"""Complaints' use cases: load the complaint, let the rules decide, note what changed.

`handle` is the RETENTION consumer's handler (the consumer commits its unit of work with the
stream position): complaint steps, our call-backs' outcomes, and `CustomersMerged`, which
moves the merged customer's complaints to the survivor (services/complaints/customers.py).
`on_deadline` is the ticker's callback: it decides in the ticker's unit of work, which the
ticker commits with the fired deadline.
"""

from __future__ import annotations

import logging
from uuid import UUID

from events import (
    ComplaintEscalated,
    ComplaintFiled,
    CustomersMerged,
    CustomersUnmerged,
    Event,
    FollowUpCompleted,
    FollowUpSkipped,
)
from laoke.deadlines import Deadline, deadline_id
from laoke.eventstore import ServiceApplication
from laoke.work import UnitOfWork
from services.complaints.aggregates import Complaint, CustomerComplaints
from services.complaints.callbacks import closing
from services.complaints.contacts import callback_refused
from services.complaints.customers import file_under, merge_customers, split_customers
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
# What `handle` acts on; the consumer passes over every other type unread (`handles`).
HANDLED = (*STEP_TYPES, FollowUpCompleted, FollowUpSkipped, CustomersMerged, CustomersUnmerged)


class Complaints:
    def __init__(self, app: ServiceApplication, settings: ComplaintSettings) -> None:
        self.app = app
        self.settings = settings

    def handle(self, work: UnitOfWork, event: Event) -> None:
        """Only complaint steps, our call-backs (their outcomes, or the contact rules'
        refusal) and merges matter: `HANDLED`, the only RETENTION events the consumer reads."""
        if not isinstance(event, HANDLED):
            return
        if isinstance(event, STEP_TYPES):
            aggregate_id = complaint_aggregate_id(event.dealership_id, event.complaint_id)
            complaint = work.get(aggregate_id, Complaint)
            outcome = decide(complaint, event, self.settings.policy(event.dealership_id))
        elif isinstance(event, FollowUpCompleted | FollowUpSkipped):
            callback_of = complaint_of_callback(event.follow_up_id)
            complaint = work.get(callback_of, Complaint) if callback_of else None
            if complaint is None or complaint.dealership_id != event.dealership_id:
                return  # another service's follow-up (outreach owns those)
            if isinstance(event, FollowUpSkipped):  # the contact rules refused our call-back
                decisions = callback_refused(complaint, event)
                outcome = closing(complaint, decisions) if decisions else Outcome()
            else:
                policy = self.settings.policy(event.dealership_id)
                outcome = callback_completed(complaint, event, policy)
        elif isinstance(event, CustomersMerged):
            self._merged(work, event)
            return
        elif isinstance(event, CustomersUnmerged):
            self._split(work, event)
            return
        else:
            return
        self._apply(work, outcome)
        if isinstance(event, ComplaintFiled) and outcome.complaint is not None:
            filed = outcome.complaint
            listing = _listing(work, filed.dealership_id, filed.customer_id)
            work.add(
                file_under(listing, filed.dealership_id, filed.customer_id, filed.complaint_id)
            )

    def _merged(self, work: UnitOfWork, event: CustomersMerged) -> None:
        """Load the merged customers' complaint lists and complaints; the rule moves them."""
        dealership = event.dealership_id
        merged = [
            listing
            for merged_id in event.merged_ids
            if merged_id != event.survivor_id
            and (listing := _listing(work, dealership, merged_id)) is not None
            and listing.merged_into is None
        ]
        if not merged:
            return  # no complaints filed under the merged customers
        survivor = _listing(work, dealership, event.survivor_id) or CustomerComplaints(
            dealership_id=dealership, customer_id=event.survivor_id
        )
        complaints = [
            complaint
            for listing in merged
            for complaint_id in listing.complaint_ids
            if (complaint := work.get(complaint_aggregate_id(dealership, complaint_id), Complaint))
        ]
        work.add(*merge_customers(survivor, merged, complaints))

    def _split(self, work: UnitOfWork, event: CustomersUnmerged) -> None:
        """Load the survivor's complaints; the rule gives the restored customer's back."""
        dealership = event.dealership_id
        survivor = _listing(work, dealership, event.customer_id)
        if survivor is None:
            return  # no complaints under the survivor
        restored = _listing(work, dealership, event.restored_id) or CustomerComplaints(
            dealership_id=dealership, customer_id=event.restored_id
        )
        complaints = [
            complaint
            for complaint_id in survivor.complaint_ids
            if (complaint := work.get(complaint_aggregate_id(dealership, complaint_id), Complaint))
        ]
        reattributed = {str(e) for e in event.reattributed_event_ids}
        work.add(*split_customers(survivor, restored, complaints, reattributed))

    def _apply(self, work: UnitOfWork, outcome: Outcome) -> None:
        _log_escalations(outcome)
        work.decide(*outcome.decisions)
        work.add(outcome.complaint)
        for spec in outcome.schedule:
            work.add(Deadline(key=spec.key, kind=spec.kind, ref=spec.ref, due_at=spec.due_at))
        for key in outcome.cancel:
            deadline = work.get(deadline_id(key), Deadline)
            if deadline is not None and deadline.pending:
                deadline.cancel()

    def on_deadline(self, work: UnitOfWork, deadline: Deadline) -> None:
        """Called by the ticker (which fired the deadline) once the clock passed `due_at`;
        decisions are dated then."""
        complaint = work.get(UUID(deadline.ref), Complaint)
        policy = self.settings.policy(complaint.dealership_id if complaint else "")
        outcome = deadline_passed(complaint, deadline.kind, deadline.due_at, policy)
        _log_escalations(outcome)
        work.decide(*outcome.decisions)
        work.add(outcome.complaint)


def _listing(work: UnitOfWork, dealership_id: str, customer_id: str) -> CustomerComplaints | None:
    return work.get(customer_complaints_id(dealership_id, customer_id), CustomerComplaints)


def _log_escalations(outcome: Outcome) -> None:
    """Escalations are what the customer-care manager acts on: INFO, one line each."""
    for made in outcome.decisions:
        if isinstance(made, ComplaintEscalated):
            log.info(
                "complaint %s escalated to %s: %s", made.complaint_id, made.escalated_to, made.why
            )
