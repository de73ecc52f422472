"""Response models of identity (`GET /v1/vehicles/{vin}`, `GET /v1/identity/merges`): a
vehicle's owners over time and services; merges with their evidence and their split."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.projections.models import Public


class VehicleOwnerPublic(Public):
    customer_id: str = Field(description="The owner (the survivor, if merged since).")
    since: datetime | None = Field(
        description="When the car became theirs; null: since before laoke knew it."
    )
    until: datetime | None = Field(description="When it passed to the next owner.")


class VehicleServicePublic(Public):
    event_id: str
    repair_order_id: str
    at: datetime
    service_kind: str
    mileage_km: int
    amount_cny: float
    customer_id: str = Field(description="Whose car it was then (the survivor, if merged since).")


class VehiclePublic(Public):
    dealership_id: str
    vin: str
    owner_id: str | None = Field(description="The current owner.")
    owners: list[VehicleOwnerPublic] = Field(description="Oldest first.")
    services: list[VehicleServicePublic] = Field(description="Oldest first.")


class MergeEvidencePublic(Public):
    key_kind: Literal["phone", "external_id"]
    key: str
    customer_id: str = Field(description="Whose key it was when the merge was decided.")


class MergeSplitPublic(Public):
    at: datetime
    requested_by: str
    reason: str
    restored_ids: list[str]


class MergePublic(Public):
    merge_event_id: str = Field(description="Name it in `CustomerSplitRequested` to undo it.")
    dealership_id: str
    merged_at: datetime
    survivor_id: str
    merged_ids: list[str]
    because: str
    evidence: list[MergeEvidencePublic]
    cause_event_id: str = Field(description="The inbound event that tied the customers.")
    split: MergeSplitPublic | None = Field(description="Null while the merge stands.")


class MergeListPublic(Public):
    dealership_id: str
    as_of: datetime
    count: int = Field(description="Items on this page.")
    items: list[MergePublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when this page is the last."
    )
