"""The read models and receipt time, touchpoints and opt-outs per purpose (intake and
projections on a real nats-server)."""

from __future__ import annotations

from datetime import datetime, timedelta

from projections_helpers import DEALERSHIP, Rig


async def test_a_backdated_apology_is_marked_and_counts_at_its_receipt(rig: Rig) -> None:
    filed = await rig.send("ComplaintFiled", complaint_id="CP-B", occurred_at=rig.at(0))
    filed_at = datetime.fromisoformat(filed["occurred_at"])
    rig.clock.advance(timedelta(hours=2))  # the apology reaches laoke two hours later ...
    await rig.send(  # ... dated twenty minutes after the filing
        "ApologyIssued",
        complaint_id="CP-B",
        occurred_at=(filed_at + timedelta(minutes=20)).isoformat(),
    )
    shown = await rig.get("/v1/complaints/CP-B", dealership_id=DEALERSHIP)
    filing, apology = shown["steps"]
    assert (filing["backdated"], filing["received_at"]) == (False, None)
    assert apology["backdated"] is True
    assert datetime.fromisoformat(apology["at"]) == filed_at + timedelta(minutes=20)
    received = datetime.fromisoformat(apology["received_at"])
    assert received - filed_at > timedelta(hours=1, minutes=59)
    assert datetime.fromisoformat(shown["apologised_at"]) == received
    assert shown["hours_to_apology"] == round((received - filed_at).total_seconds() / 3600, 4)


async def test_an_apology_within_15_minutes_is_not_backdated(rig: Rig) -> None:
    filed = await rig.send("ComplaintFiled", complaint_id="CP-T", occurred_at=rig.at(0))
    rig.clock.advance(timedelta(minutes=30))
    await rig.send("ApologyIssued", complaint_id="CP-T", occurred_at=rig.at(-0.2))
    shown = await rig.get("/v1/complaints/CP-T", dealership_id=DEALERSHIP)
    assert [s["backdated"] for s in shown["steps"]] == [False, False]
    assert shown["hours_to_apology"] == round(0.5 - 0.2, 4)
    assert datetime.fromisoformat(shown["filed_at"]) == datetime.fromisoformat(filed["occurred_at"])


async def test_a_failed_call_and_a_preference_change_do_not_move_the_last_touchpoint(
    rig: Rig,
) -> None:
    visit = await rig.send("CustomerVisited", occurred_at=rig.at(-3))
    customer_id = await rig.customer_id(visit)
    await rig.send("FollowUpCompleted", outcome="no_answer", occurred_at=rig.at(-2))
    await rig.send("ContactPreferenceChanged", opt_out=True, channels=None,
                   purposes=["marketing"], occurred_at=rig.at(-1))  # fmt: skip
    profile = await rig.get(f"/v1/customers/{customer_id}")
    assert profile["last_touchpoint"]["event_id"] == visit["event_id"]
    assert profile["consent"]["opted_out_by_purpose"] == {
        "marketing": ["email", "letter", "phone", "sms", "wechat"]
    }
    assert profile["consent"]["opted_out_all"] is False  # one purpose, not every one
    timeline = await rig.get(f"/v1/customers/{customer_id}/timeline")
    touch = {row["event_type"]: row["touchpoint"] for row in timeline["entries"]}
    assert touch == {
        "CustomerVisited": True,
        "FollowUpCompleted": False,
        "ContactPreferenceChanged": False,
    }
