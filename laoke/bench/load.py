"""What the benchmark publishes: the simulator's inbound events, and light customers
straight onto RETENTION for the read API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from events import (
    CustomerRegistered,
    Event,
    FollowUpDue,
    VehiclePurchased,
    retention_subject,
    to_json,
)
from laoke.partitions import partition_of
from laoke.sim.generator import Simulation
from services.outreach.calendar import at_local, local
from services.outreach.settings import OutreachSettings

E = TypeVar("E", bound=Event)
Item = tuple[str, bytes, dict[str, str] | None]  # subject, body, headers
DEALERSHIP = "bench-4s"


def inbound(sim: Simulation) -> list[Item]:
    """The simulated events, each on its DEALER_IN subject."""
    return [(f"dealer.in.{e.dealership_id}.{e.event_type}", e.data, None) for e in sim.events]


def customer_id(i: int) -> str:
    return str(uuid5(NAMESPACE_URL, f"bench-customer-{i}"))


def light_customers(n: int, now: datetime) -> list[Item]:
    """n customers straight onto RETENTION: registration, a purchase, a follow-up due, the
    follow-ups spread over the fortnight either side of `now` and, to the minute, over each
    day's contact hours (outreach's: outside its quiet hours), as real ones fall due."""
    items: list[Item] = []
    rules = OutreachSettings()
    day = local(now, rules.timezone).date()
    opens = at_local(day, rules.quiet_end, rules.timezone)  # today's first contact time
    closes = at_local(day, rules.quiet_start, rules.timezone)
    today = opens.astimezone(UTC)
    contact_minutes = (closes - opens) // timedelta(minutes=1)
    for i in range(n):
        cid = customer_id(i)
        when = now - timedelta(days=400 - i % 365)
        base = {
            "dealership_id": DEALERSHIP,
            "source": "bench",
            "customer": {"phone": f"139{i:08d}"},
            "customer_id": cid,
            "schema_version": 1,
        }
        registered_id = uuid5(NAMESPACE_URL, f"bench-reg-{i}")
        purchase_id = uuid5(NAMESPACE_URL, f"bench-buy-{i}")
        advisor = f"adv-{i % 20:03d}"
        events = (
            _recorded(
                CustomerRegistered,
                base,
                registered_id,
                when,
                cause=registered_id,
                name=f"客户{i}",
                phones=[f"139{i:08d}"],
                advisor_id=advisor,
                consent={"marketing": True, "channels": ["phone"]},
            ),
            _recorded(
                VehiclePurchased,
                base,
                purchase_id,
                when + timedelta(days=1),
                cause=purchase_id,
                vin=f"LBENCH{i:011d}"[:17],
                model="CT5",
                colour="black",
                price_cny=250000,
                advisor_id=advisor,
            ),
            _recorded(
                FollowUpDue,
                base,
                uuid5(NAMESPACE_URL, f"bench-due-{i}"),
                when + timedelta(days=1),
                cause=purchase_id,
                source="outreach",
                follow_up_id=f"fu-bench-{i}",
                reason="purchase_call_7d",
                due_at=today + timedelta(days=i % 30 - 15, minutes=(i // 30) % contact_minutes),
                channel="phone",
            ),
        )
        for event in events:
            subject = retention_subject(DEALERSHIP, cid, event.event_type)
            items.append((subject, to_json(event), {"Nats-Msg-Id": str(event.event_id)}))
    return items


def _recorded(
    model: type[E],
    base: dict[str, Any],
    event_id: UUID,
    occurred_at: datetime,
    /,
    *,
    cause: UUID,
    **fields: Any,
) -> E:
    """A recorded event of `model` as intake (or, for decisions, a service) records it."""
    return model.model_validate(
        base
        | {
            "event_id": event_id,
            "event_type": model.type_name(),
            "occurred_at": occurred_at,
            "correlation_id": cause,
            "causation_id": cause,
        }
        | fields,
        context={"trusted": True},
    )


def spread_dealerships(partitions: int, per_partition: int = 2) -> list[str]:
    """Dealership ids, `per_partition` in each of the partitions (laoke/partitions.py)."""
    found: dict[int, list[str]] = {p: [] for p in range(partitions)}
    n = 0
    while any(len(ids) < per_partition for ids in found.values()):
        name = f"sim-{n:03d}"
        ids = found[partition_of(name, partitions)]
        if len(ids) < per_partition:
            ids.append(name)
        n += 1
    return [name for p in range(partitions) for name in found[p]]
