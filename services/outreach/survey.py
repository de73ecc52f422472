"""A survey invitation (`Survey`, one per survey id): who it was sent to, whether it was
answered. State only (answers.py decides)."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic


def survey_aggregate_id(dealership_id: str, survey_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:outreach:survey:{dealership_id}:{survey_id}")


class Survey(Aggregate):
    """A survey invitation: answered once, and only by the customer it was sent to."""

    @staticmethod
    def create_id(dealership_id: str, survey_id: str) -> UUID:
        return survey_aggregate_id(dealership_id, survey_id)

    @event("Sent")
    def __init__(
        self, dealership_id: str, survey_id: str, kind: str, customer_id: str, follow_up_id: str
    ) -> None:
        self.survey_id = survey_id
        self.kind = kind
        self.customer_id = customer_id
        self.follow_up_id = follow_up_id
        self.answered_by: str | None = None

    @event("Answered")
    def answer(self, event_id: str) -> None:
        self.answered_by = event_id

    @event("Reassigned")
    def reassign(self, customer_id: str) -> None:
        """Sent while merged because of a customer a split gave back: theirs to answer."""
        self.customer_id = customer_id


# Stores written before the class moved here name it (and its events) by the module it was
# in: those topics still resolve, so such stores load as before.
register_topic("services.outreach.domain:Survey", Survey)
register_topic("services.outreach.aggregates:Survey", Survey)
