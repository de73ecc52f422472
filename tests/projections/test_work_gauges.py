"""The work in hand on /metrics (services/projections/gauges.py): open and escalated
complaints and follow-ups due per dealership, counted from the read store, back to 0
when the last one goes."""

from __future__ import annotations

from datetime import timedelta

from projections_helpers import DEALERSHIP, Rig
from prometheus_client import REGISTRY

from events import ComplaintEscalated, ComplaintResolved, FollowUpDue


def gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"dealership": DEALERSHIP})


def work() -> tuple[float | None, ...]:
    return tuple(
        gauge(n)
        for n in ("laoke_complaints_open", "laoke_complaints_escalated", "laoke_followups_due")
    )


async def resolve(rig: Rig, customer_id: str, complaint_id: str) -> None:
    await rig.decide(
        ComplaintResolved,
        customer_id,
        complaint_id=complaint_id,
        resolved_at=rig.clock.now(),
        hours_to_resolution=2.0,
        within_sla=True,
    )


async def test_open_and_escalated_complaints_and_follow_ups_due_per_dealership(rig: Rig) -> None:
    filed = [await rig.send("ComplaintFiled", complaint_id=f"CP-{n}") for n in (1, 2, 3)]
    customer_id = await rig.customer_id(filed[0])
    await rig.decide(
        ComplaintEscalated,
        customer_id,
        complaint_id="CP-1",
        escalated_to="manager",
        why="sla_breached",
    )
    await resolve(rig, customer_id, "CP-3")
    for n, hours in enumerate((-2, -1, 5)):
        await rig.decide(
            FollowUpDue,
            customer_id,
            follow_up_id=f"fu-{n}",
            due_at=rig.clock.now() + timedelta(hours=hours),
            reason="purchase_call_7d",
            channel="phone",
        )
    rig.projections.gauges.refresh(rig.clock.now())
    assert work() == (2, 1, 2)  # CP-1 and CP-2 open, CP-1 escalated; two follow-ups due

    rig.clock.advance(timedelta(hours=6))  # the third follow-up's time comes
    await resolve(rig, customer_id, "CP-1")
    await resolve(rig, customer_id, "CP-2")
    rig.projections.gauges.refresh(rig.clock.now())
    assert work() == (0, 0, 3)  # no dealership keeps its last count once it has none
