"""`GET /v1/workshop/queue` and `GET /v1/workshop/breaches`: the workshop's read API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from events.fields import Money
from events.inbound import ArrivalKind
from laoke.httpauth import DealershipToRead
from laoke.partitions import PartitionGroup
from services.workshop.rules import QueuedOrder, waiting_minutes
from services.workshop.service import WorkshopService


class QueuedOrderPublic(BaseModel):
    model_config = ConfigDict(frozen=True)

    position: int = Field(description="1 = dispatched first.")
    repair_order_id: str
    vin: str
    customer_id: str
    advisor_id: str | None
    arrival_kind: ArrivalKind
    arrived_at: datetime
    promised_at: datetime | None
    waiting_minutes: int = Field(description="Since arrival, by the service clock.")
    state: Literal["open", "on_hold"]
    on_hold: bool = Field(description="Waiting for the customer to approve a scope change.")
    on_hold_since: datetime | None
    pending_added_items: list[str]
    pending_extra_amount_cny: Money


class QueuePublic(BaseModel):
    dealership_id: str
    as_of: datetime
    orders: list[QueuedOrderPublic]


class AdvisorBreachesPublic(BaseModel):
    advisor_id: str | None = Field(description="None when the completion named no advisor.")
    breaches: int
    repair_order_ids: list[str]


class BreachesPublic(BaseModel):
    dealership_id: str
    advisors: list[AdvisorBreachesPublic]


def _public(position: int, order: QueuedOrder, now: datetime) -> QueuedOrderPublic:
    on_hold = order.state == "on_hold"
    return QueuedOrderPublic(
        position=position,
        repair_order_id=order.repair_order_id,
        vin=order.vin,
        customer_id=order.customer_id,
        advisor_id=order.advisor_id,
        arrival_kind=order.arrival_kind,
        arrived_at=order.arrived_at,
        promised_at=order.promised_at,
        waiting_minutes=waiting_minutes(order.arrived_at, now),
        state="on_hold" if on_hold else "open",
        on_hold=on_hold,
        on_hold_since=order.on_hold_since,
        pending_added_items=list(order.pending_items),
        pending_extra_amount_cny=Decimal(order.pending_amount_cny),
    )


def build_router(service: WorkshopService | PartitionGroup) -> APIRouter:
    router = APIRouter(prefix="/v1/workshop", tags=["workshop"])

    def runner(dealership_id: str) -> WorkshopService:
        """The instance that runs this dealership's partition (laoke/partitions.py)."""
        found = (
            service.for_dealership(dealership_id)
            if isinstance(service, PartitionGroup)
            else service
            if service.partition.has(dealership_id)
            else None
        )
        if found is None:
            raise HTTPException(404, f"dealership {dealership_id} is run by another replica")
        assert isinstance(found, WorkshopService)
        return found

    @router.get("/queue", response_model=QueuePublic)
    def get_queue(dealership_id: DealershipToRead) -> QueuePublic:
        """Open repair orders in dispatch order: the dealership's priority of arrival kinds
        (default rework, emergency, appointment, waiting, vip, walk_in), then arrival time."""
        now = service.clock.now()
        orders = runner(dealership_id).queue(dealership_id)
        return QueuePublic(
            dealership_id=dealership_id,
            as_of=now,
            orders=[_public(i, order, now) for i, order in enumerate(orders, start=1)],
        )

    @router.get("/breaches", response_model=BreachesPublic)
    def get_breaches(dealership_id: DealershipToRead) -> BreachesPublic:
        """Orders completed on a scope change the customer never approved, per advisor."""
        found = runner(dealership_id).breaches(dealership_id)
        advisors = [
            AdvisorBreachesPublic(advisor_id=advisor, breaches=len(ids), repair_order_ids=ids)
            for advisor, ids in sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0] or ""))
        ]
        return BreachesPublic(dealership_id=dealership_id, advisors=advisors)

    return router
