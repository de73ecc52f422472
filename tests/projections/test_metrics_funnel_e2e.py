"""What the dashboard's funnel panel reads, in one request whatever the number of
complaints: the complaint funnel in the period's satisfaction metrics
(`complaints.funnel`), equal to what the complaint list says one complaint at a time."""

from __future__ import annotations

from projections_helpers import DEALERSHIP, Rig

from events import ComplaintClosed

PHONES = ["13900139001", "13900139002", "13900139003", "13900139004"]


async def file(rig: Rig, complaint_id: str, phone: str, hours: float, steps: int) -> str:
    """A complaint filed `hours` from now, taken to `steps` (1–4) by inbound events."""
    filed = await rig.send(
        "ComplaintFiled",
        complaint_id=complaint_id,
        customer={"phone": phone},
        repair_order_id=None,
        vin=None,
        occurred_at=rig.at(hours),
    )
    for step, event_type in ((2, "ApologyIssued"), (3, "ComplaintInvestigated")):
        if steps >= step:
            await rig.send(
                event_type,
                complaint_id=complaint_id,
                customer={"phone": phone},
                occurred_at=rig.at(hours + step),
            )
    if steps >= 4:
        await rig.send(
            "RemedyProposed",
            complaint_id=complaint_id,
            customer={"phone": phone},
            occurred_at=rig.at(hours + 4),
            amount_cny=300,
        )
    return await rig.customer_id(filed)


async def test_the_funnel_counts_the_periods_complaints_by_step(rig: Rig) -> None:
    await file(rig, "CP-1", PHONES[0], -50, 1)
    await file(rig, "CP-2", PHONES[1], -40, 2)
    await file(rig, "CP-3", PHONES[2], -30, 3)
    await file(rig, "CP-4", PHONES[3], -20, 4)
    closed = await file(rig, "CP-5", PHONES[0], -12, 2)
    await rig.decide(
        ComplaintClosed, closed, complaint_id="CP-5", satisfaction=8, outcome="reached"
    )
    await file(rig, "CP-old", PHONES[1], -24 * 90, 3)  # before the period
    await rig.send("ComplaintFiled", complaint_id="CP-x", dealership_id="other-4s")
    period = {"from": rig.at(-24 * 30), "to": rig.at(1)}

    metrics = await rig.get("/v1/metrics/satisfaction", dealership_id=DEALERSHIP, **period)
    funnel = metrics["groups"][0]["complaints"]["funnel"]

    listed = (await rig.get("/v1/complaints", dealership_id=DEALERSHIP, **period))["items"]
    assert len(listed) == 5 and metrics["groups"][0]["complaints"]["total"] == 5
    assert [s["step"] for s in funnel] == [1, 2, 3, 4, 5, 6]
    assert [s["name"] for s in funnel] == [
        "vent",
        "apologise",
        "investigate",
        "propose_remedy",
        "customer_agrees",
        "follow_up",
    ]
    for s in funnel:
        assert s["reached"] == sum(c["step"] >= s["step"] for c in listed), s
        assert s["standing"] == sum(
            c["step"] == s["step"] and c["closed_at"] is None for c in listed
        ), s
    # CP-5 was closed at step 6 (closing records the last step): reached all, stands nowhere.
    assert [s["reached"] for s in funnel] == [5, 4, 3, 2, 1, 1]
    assert [s["standing"] for s in funnel] == [1, 1, 1, 1, 0, 0]
