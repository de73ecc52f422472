"""Identity decisions intake records on RETENTION (docs/identity.md, docs/crypto.md): merges
with their evidence, their undoing, cars changing hands, and erasure."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from events.envelope import FROZEN, RecordedEvent
from events.fields import (
    PERSONAL,
    CustomerId,
    EntityId,
    Explanation,
    ShortText,
    StaffId,
    Vin,
)


class MergeEvidence(BaseModel):
    """One person key (a phone, or an external id of one source) of the event that tied the
    customers, and the customer it belonged to."""

    model_config = FROZEN
    key_kind: Literal["phone", "external_id"]
    key: ShortText
    customer_id: CustomerId


class CustomersMerged(RecordedEvent):
    """Duplicate customer records found to be one person; `survivor_id` keeps the history.

    `customer_id` (the subject's customer) is the survivor. `evidence`: the person keys that
    tied them (a VIN never does: docs/identity.md); `because` says the same in words.
    """

    event_type: Literal["CustomersMerged"] = "CustomersMerged"
    survivor_id: CustomerId
    merged_ids: Annotated[list[CustomerId], Field(min_length=1, max_length=100)]
    because: Explanation
    evidence: Annotated[list[MergeEvidence], Field(max_length=200)] = Field(default_factory=list)


class CustomersUnmerged(RecordedEvent):
    """A merge undone (`CustomerSplitRequested`): `restored_id` is its own customer again.

    `customer_id` is the survivor (where the restored customer's history was until now, so
    the split is read in order with it). Each identity key resolves again to the person it
    belonged to before the merge; `reattributed_event_ids` are the events recorded under the
    survivor after the merge whose keys were the restored person's: they are the restored
    customer's now (the stream is never rewritten: this event says so)."""

    event_type: Literal["CustomersUnmerged"] = "CustomersUnmerged"
    merge_event_id: UUID
    survivor_id: CustomerId
    restored_id: CustomerId
    requested_by: StaffId
    reason: Annotated[Explanation, PERSONAL]  # the request's, copied
    reattributed_event_ids: Annotated[list[UUID], Field(max_length=10_000)] = Field(
        default_factory=list
    )


class VehicleOwnershipChanged(RecordedEvent):
    """A known VIN arrived with another person: the car changed hands at `changed_at` (the
    event's time). `customer_id` is the new owner; the people are never merged for it."""

    event_type: Literal["VehicleOwnershipChanged"] = "VehicleOwnershipChanged"
    vin: Vin
    previous_owner_id: CustomerId
    owner_id: CustomerId
    changed_at: AwareDatetime


class CustomerErased(RecordedEvent):
    """The customer's personal data is erased: their data keys (theirs and those of every
    customer merged into them, `erased_ids`) are destroyed, so what RETENTION holds of them
    can no longer be read; read models keep anonymous counts only (docs/crypto.md)."""

    event_type: Literal["CustomerErased"] = "CustomerErased"
    erased_ids: Annotated[list[CustomerId], Field(min_length=1, max_length=101)]
    requested_by: StaffId
    request_ref: EntityId
