"""Aggregates that moved (to a service's `aggregates.py`, or on from it) still load from
stores written before.

Each stored event names its class by topic (`module:Aggregate.Event`). The modules they
moved to register the old topics, so an event stored under the old module resolves to the
same class: a store written before the move loads unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import get_topic, resolve_topic

from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from services.complaints.aggregates import Complaint, CustomerComplaints
from services.intake.aggregates import CustomerIdentity, IdentityKey
from services.outreach.aggregates import ContactPlan, Survey
from services.workshop.aggregates import RepairOrder
from services.workshop.queue import WorkshopIndex

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# (topic the class had before, the class now)
MOVED: list[tuple[str, type[Aggregate]]] = [
    ("services.complaints.domain:Complaint", Complaint),
    ("services.complaints.customers:CustomerComplaints", CustomerComplaints),
    ("services.outreach.domain:ContactPlan", ContactPlan),
    ("services.outreach.domain:Survey", Survey),
    ("services.outreach.aggregates:Survey", Survey),
    ("services.workshop.domain:RepairOrder", RepairOrder),
    ("services.intake.identity:IdentityKey", IdentityKey),
    ("services.intake.identity:CustomerIdentity", CustomerIdentity),
]


def event_classes(aggregate: type[Aggregate]) -> list[type]:
    return [
        value
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, CanMutateAggregate)
    ]


@pytest.mark.parametrize("old, aggregate", MOVED, ids=[old for old, _ in MOVED])
def test_the_old_topics_of_a_moved_aggregate_and_its_events_resolve(
    old: str, aggregate: type[Aggregate]
) -> None:
    events = event_classes(aggregate)
    assert events, aggregate
    assert resolve_topic(old) is aggregate
    for event_class in events:
        assert resolve_topic(f"{old}.{event_class.__name__}") is event_class


def store_under(settings: LaokeSettings, aggregate: type[Aggregate], old: str) -> list[str]:
    """Rewrite the stored events' topics as the class's old module wrote them."""
    with sqlite3.connect(settings.sqlite_path("moved")) as conn:
        conn.execute(
            "UPDATE stored_events SET topic = replace(topic, ?, ?)", (get_topic(aggregate), old)
        )
        return [topic for (topic,) in conn.execute("SELECT topic FROM stored_events")]


def complaint() -> Aggregate:
    filed = Complaint(
        dealership_id="d1",
        complaint_id="CP-1",
        customer_id="c1",
        category="service",
        severity="high",
        filed_at=T0,
        filed_event_id=uuid4(),
        correlation_id=uuid4(),
        apology_due_at=T0 + timedelta(hours=1),
        sla_due_at=T0 + timedelta(hours=48),
    )
    filed.apologise(at=T0 + timedelta(minutes=5), issued_by="a1")
    return filed


def customer_complaints() -> Aggregate:
    listing = CustomerComplaints(dealership_id="d1", customer_id="c1")
    listing.add(complaint_ids=["CP-1", "CP-2"])
    return listing


def contact_plan() -> Aggregate:
    plan = ContactPlan(dealership_id="d1", customer_id="c1")
    plan.touch(at=T0)
    plan.vehicle_purchased(vin="LVSHCAMB1CE012345", at=T0)
    return plan


def survey() -> Aggregate:
    sent = Survey(
        dealership_id="d1", survey_id="s1", kind="CSI", customer_id="c1", follow_up_id="f1"
    )
    sent.answer(event_id="e1")
    return sent


def repair_order() -> Aggregate:
    order = RepairOrder(
        dealership_id="d1",
        repair_order_id="RO-1",
        vin="LVSHCAMB1CE012345",
        arrival_kind="walk_in",
        arrived_at=T0,
        promised_at=None,
        advisor_id="a1",
        customer_id="c1",
    )
    order.hold(added_items=["brake pads"], extra_amount_cny=Decimal("800"), at=T0)
    return order


def identity_key() -> Aggregate:
    key = IdentityKey(dealership_id="d1", key="phone:+8613900139000", customer_id="c1")
    key.reassign(customer_id="c2")
    return key


def customer_identity() -> Aggregate:
    identity = CustomerIdentity(customer_id="c1", dealership_id="d1", first_seen=T0)
    identity.add_key(key="phone:+8613900139000")
    return identity


# an aggregate of each moved class, with more than one event
BUILT: dict[type[Aggregate], Callable[[], Aggregate]] = {
    Complaint: complaint,
    CustomerComplaints: customer_complaints,
    ContactPlan: contact_plan,
    Survey: survey,
    RepairOrder: repair_order,
    IdentityKey: identity_key,
    CustomerIdentity: customer_identity,
}


def test_every_moved_class_is_tried_in_a_store() -> None:
    assert set(BUILT) == {aggregate for _, aggregate in MOVED}


@pytest.mark.parametrize("old, aggregate", MOVED, ids=[old for old, _ in MOVED])
def test_a_store_written_under_the_old_topics_loads(
    tmp_path: Path, old: str, aggregate: type[Aggregate]
) -> None:
    settings = LaokeSettings(data_dir=tmp_path)
    app = ServiceApplication(settings, "moved")
    written = BUILT[aggregate]()
    app.save(written)
    topics = store_under(settings, aggregate, old)
    assert len(topics) == written.version >= 2
    assert all(topic.startswith(f"{old}.") for topic in topics), topics
    reopened = ServiceApplication(settings, "moved")
    loaded: Aggregate = reopened.repository.get(written.id)
    assert type(loaded) is aggregate
    assert vars(loaded) == vars(written)


def test_the_workshop_queue_rebuilds_from_repair_orders_stored_under_the_old_topic(
    tmp_path: Path,
) -> None:
    settings = LaokeSettings(data_dir=tmp_path)
    app = ServiceApplication(settings, "moved")
    app.save(repair_order())
    store_under(settings, RepairOrder, "services.workshop.domain:RepairOrder")
    reopened = ServiceApplication(settings, "moved")
    index = WorkshopIndex()
    index.rebuild(reopened)
    [queued] = index.open_orders("d1")
    assert queued.repair_order_id == "RO-1" and queued.state == "on_hold"
