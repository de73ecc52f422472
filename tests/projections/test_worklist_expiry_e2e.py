"""Expired follow-ups in the read model, end to end on a real nats-server: each item shows its
expiry, `FollowUpExpired` takes it off the work list onto `status=expired`, and follow-up
completion counts it as not done (a contact skipped `expired` before it was planned is not
counted, like every skip)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from projections_helpers import DEALERSHIP, Rig

from events import FollowUpDue, FollowUpExpired, FollowUpSkipped


async def listed(rig: Rig, status: str) -> list[dict[str, Any]]:
    body = await rig.get("/v1/followups", dealership_id=DEALERSHIP, status=status)
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_an_expired_item_leaves_the_list_and_counts_as_not_done(rig: Rig) -> None:
    customer_id = await rig.customer_id(await rig.send("CustomerVisited"))
    now = rig.clock.now()
    expiries = {}
    for follow_up_id, hours in (("fu-made", -30), ("fu-left", -20), ("fu-late-made", -10)):
        due_at = now + timedelta(hours=hours)
        expiries[follow_up_id] = due_at + timedelta(days=3)
        await rig.decide(
            FollowUpDue,
            customer_id,
            follow_up_id=follow_up_id,
            reason="survey_csi",
            due_at=due_at,
            channel="wechat",
            expires_at=expiries[follow_up_id],
        )
    await rig.decide(
        FollowUpDue,
        customer_id,
        follow_up_id="fu-callback",
        reason="complaint_callback",
        due_at=now - timedelta(hours=5),
        channel="phone",
    )
    await rig.decide(
        FollowUpSkipped,
        customer_id,
        follow_up_id="fu-history",
        reason="purchase_call_7d",
        skip_reason="expired",
        at=now - timedelta(hours=1),
    )
    due = {item["follow_up_id"]: item for item in await listed(rig, "due")}
    assert list(due) == ["fu-made", "fu-left", "fu-late-made", "fu-callback"]  # not fu-history
    for follow_up_id, expires_at in expiries.items():
        assert due[follow_up_id]["expires_at"] == expires_at.isoformat().replace("+00:00", "Z")
    assert due["fu-callback"]["expires_at"] is None  # a complaint call-back stays till made

    await rig.send("FollowUpCompleted", follow_up_id="fu-made", outcome="reached", satisfaction=9)
    for follow_up_id in ("fu-left", "fu-late-made"):
        await rig.decide(
            FollowUpExpired,
            customer_id,
            at=expiries[follow_up_id],
            follow_up_id=follow_up_id,
            reason="survey_csi",
            due_at=due[follow_up_id]["due_at"],
            expires_at=expiries[follow_up_id],
        )
    # reported made after it had expired: it was made after all
    await rig.send("FollowUpCompleted", follow_up_id="fu-late-made", outcome="reached")
    rig.clock.advance(timedelta(days=4))

    assert [i["follow_up_id"] for i in await listed(rig, "due")] == ["fu-callback"]
    expired = await listed(rig, "expired")
    assert [(i["follow_up_id"], i["status"]) for i in expired] == [("fu-left", "expired")]
    assert expired[0]["expires_at"] == due["fu-left"]["expires_at"]
    done = {i["follow_up_id"] for i in await listed(rig, "done")}
    assert done == {"fu-made", "fu-late-made"}
    skipped = await listed(rig, "skipped")
    assert [(i["follow_up_id"], i["skip_reason"]) for i in skipped] == [("fu-history", "expired")]

    period = {"from": (now - timedelta(days=2)).isoformat(), "to": now.isoformat()}
    body = await rig.get(
        "/v1/metrics/satisfaction", dealership_id=DEALERSHIP, group_by="none", **period
    )
    (everyone,) = body["groups"]
    # made: fu-made, fu-late-made; not made: fu-left (expired), fu-callback (still open)
    assert everyone["follow_up_completion"] == {"numerator": 2, "denominator": 4, "rate": 0.5}


async def test_an_open_item_past_its_expiry_is_off_the_list_before_outreach_records_it(
    rig: Rig,
) -> None:
    """Outreach records `FollowUpExpired` when its deadline comes round; while it is behind,
    the list already leaves out what the item's own `expires_at` says is past."""
    customer_id = await rig.customer_id(await rig.send("CustomerVisited"))
    now = rig.clock.now()
    for follow_up_id, expires_in in (("fu-stale", timedelta(hours=1)), ("fu-fresh", None)):
        await rig.decide(
            FollowUpDue,
            customer_id,
            follow_up_id=follow_up_id,
            reason="survey_csi" if expires_in else "complaint_callback",
            due_at=now - timedelta(hours=2),
            channel="phone",
            expires_at=now + expires_in if expires_in else None,
        )
    assert [i["follow_up_id"] for i in await listed(rig, "due")] == ["fu-fresh", "fu-stale"]
    rig.clock.advance(timedelta(hours=2))  # past fu-stale's expiry, nothing recorded

    for status in ("due", "overdue"):
        assert [i["follow_up_id"] for i in await listed(rig, status)] == ["fu-fresh"]
    assert await listed(rig, "expired") == []  # outreach's to record
