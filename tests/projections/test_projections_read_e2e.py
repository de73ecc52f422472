"""Timeline, complaints, follow-ups, referrals, metrics and audit end to end: inbound events
on NATS through intake, decisions recorded straight on RETENTION, JSON read back."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from projections_helpers import DEALERSHIP, Rig

from events import (
    ComplaintClockSet,
    ComplaintClosed,
    ComplaintResolved,
    FollowUpDue,
    FollowUpSkipped,
    ReferralRejected,
    ReferralVerified,
    RewardGranted,
)
from services.projections.audit import raw_event


async def test_timeline_lists_every_event_oldest_first(rig: Rig) -> None:
    visit = await rig.send("CustomerVisited", occurred_at=rig.at(-1), source="showroom")
    registered = await rig.send("CustomerRegistered", occurred_at=rig.at(-5))
    customer_id = await rig.customer_id(visit)
    due = await rig.decide(
        FollowUpDue,
        customer_id,
        follow_up_id="fu-1",
        reason="reengagement",
        due_at=rig.clock.now() + timedelta(days=1),
        channel="phone",
    )

    body = await rig.get(f"/v1/customers/{customer_id}/timeline")

    assert [e["event_id"] for e in body["entries"]] == [
        registered["event_id"],
        visit["event_id"],
        str(due.event_id),
    ]
    first = body["entries"][0]
    assert first["event_type"] == "CustomerRegistered" and first["source"] == "dms"
    assert body["entries"][1]["source"] == "showroom"
    assert [e["touchpoint"] for e in body["entries"]] == [True, True, False]
    assert body["total"] == 3


async def test_complaint_steps_remedy_and_sla_state(rig: Rig) -> None:
    filed = await rig.send("ComplaintFiled", complaint_id="CP-1", occurred_at=rig.at(-3))
    customer_id = await rig.customer_id(filed)
    await rig.send("ApologyIssued", complaint_id="CP-1", occurred_at=rig.at(-2.5))
    await rig.send("ComplaintInvestigated", complaint_id="CP-1", occurred_at=rig.at(-2))
    await rig.send("RemedyProposed", complaint_id="CP-1", occurred_at=rig.at(-1), amount_cny=500)
    open_body = await rig.get("/v1/complaints/CP-1")
    assert open_body["step"] == 4 and open_body["sla_state"] == "on_time"
    assert open_body["remedy"]["status"] == "proposed"

    await rig.send("RemedyAccepted", complaint_id="CP-1", occurred_at=rig.at(-0.5))
    resolved_at = rig.clock.now() - timedelta(hours=0.5)
    await rig.decide(
        ComplaintResolved,
        customer_id,
        complaint_id="CP-1",
        resolved_at=resolved_at,
        hours_to_resolution=2.5,
        within_sla=True,
    )
    await rig.decide(
        ComplaintClosed, customer_id, complaint_id="CP-1", satisfaction=9, outcome="reached"
    )

    body = await rig.get("/v1/complaints/CP-1", dealership_id=DEALERSHIP)
    assert body["step"] == 6 and body["step_name"] == "follow_up"
    assert [s["step"] for s in body["steps"]] == [1, 2, 3, 4, 5, 6]
    assert body["hours_to_apology"] == 0.5
    assert body["remedy"] == body["remedies"][0] | {"status": "accepted"}
    assert body["remedy"]["amount_cny"] == 500
    assert body["sla_state"] == "on_time" and body["within_sla"] is True
    assert body["satisfaction"] == 9 and body["callback_outcome"] == "reached"
    await rig.get("/v1/complaints/CP-404", expect=404)


async def test_complaints_filed_in_a_period_oldest_first_as_each_answers_alone(rig: Rig) -> None:
    for complaint_id, hours in (("CP-late", -2), ("CP-early", -30), ("CP-old", -24 * 40)):
        await rig.send("ComplaintFiled", complaint_id=complaint_id, occurred_at=rig.at(hours))
    await rig.send(
        "ComplaintFiled", complaint_id="CP-other", dealership_id="other-4s", occurred_at=rig.at(-1)
    )

    listed = await rig.get("/v1/complaints", dealership_id=DEALERSHIP)  # the last 30 days

    assert [c["complaint_id"] for c in listed["items"]] == ["CP-early", "CP-late"]
    assert listed["count"] == 2
    assert listed["items"][0] == await rig.get("/v1/complaints/CP-early")
    period = {"from": rig.at(-48), "to": rig.at(-10)}
    narrow = await rig.get("/v1/complaints", dealership_id=DEALERSHIP, **period)
    assert [c["complaint_id"] for c in narrow["items"]] == ["CP-early"]
    paged = await rig.get("/v1/complaints", dealership_id=DEALERSHIP, offset=1, limit=1)
    assert [c["complaint_id"] for c in paged["items"]] == ["CP-late"]
    backwards = {"from": rig.at(-1), "to": rig.at(-2)}
    error = await rig.get("/v1/complaints", expect=422, dealership_id=DEALERSHIP, **backwards)
    assert "from" in error["message"]


async def test_open_complaint_goes_at_risk_then_breached_by_the_clock(rig: Rig) -> None:
    filed = await rig.send("ComplaintFiled", complaint_id="CP-2", occurred_at=rig.at(0))
    await rig.decide(  # as complaints records its clocks at filing: a 48 h SLA
        ComplaintClockSet,
        await rig.customer_id(filed),
        complaint_id="CP-2",
        apology_due_at=rig.clock.now() + timedelta(hours=1),
        sla_due_at=rig.clock.now() + timedelta(hours=48),
    )
    await rig.send("ApologyIssued", complaint_id="CP-2", occurred_at=rig.at(0.2))
    assert (await rig.get("/v1/complaints/CP-2"))["sla_state"] == "on_time"
    rig.clock.advance(timedelta(hours=37))  # 75% of the 48 h SLA
    assert (await rig.get("/v1/complaints/CP-2"))["sla_state"] == "at_risk"
    rig.clock.advance(timedelta(hours=12))
    assert (await rig.get("/v1/complaints/CP-2"))["sla_state"] == "breached"


async def test_followups_work_list_by_status_and_due_time(rig: Rig) -> None:
    visit = await rig.send("CustomerVisited")
    customer_id = await rig.customer_id(visit)
    now = rig.clock.now()
    for follow_up_id, hours in (
        ("fu-late", -5),
        ("fu-now", 0),
        ("fu-b", 30),
        ("fu-a", 2),
        ("fu-done", -1),
    ):
        await rig.decide(
            FollowUpDue,
            customer_id,
            follow_up_id=follow_up_id,
            reason="purchase_call_7d",
            due_at=now + timedelta(hours=hours),
            channel="phone",
            rules_applied=["quiet_hours", "contact_cap"],
        )
    await rig.decide(
        FollowUpDue,
        customer_id,
        follow_up_id="fu-skip",
        reason="holiday_greeting",
        due_at=now,
        channel="sms",
    )
    await rig.decide(
        FollowUpSkipped,
        customer_id,
        follow_up_id="fu-skip",
        reason="holiday_greeting",
        skip_reason="opted_out",
    )
    await rig.send("FollowUpCompleted", follow_up_id="fu-done", outcome="reached", satisfaction=8)

    async def listed(status: str | None = None) -> list[tuple[str, str]]:
        params = {"status": status} if status else {}
        body = await rig.get("/v1/followups", dealership_id=DEALERSHIP, **params)
        assert body["status"] == (status or "due") and body["next_cursor"] is None
        return [(f["follow_up_id"], f["status"]) for f in body["items"]]

    # The work whose time has come, overdue included, oldest first (also the default).
    assert await listed("due") == [("fu-late", "overdue"), ("fu-now", "due")]
    assert await listed() == await listed("due")
    assert await listed("upcoming") == [("fu-a", "upcoming"), ("fu-b", "upcoming")]
    assert await listed("overdue") == [("fu-late", "overdue")]  # past due: not fu-now
    due = (await rig.get("/v1/followups", dealership_id=DEALERSHIP))["items"]
    assert due[0]["reason"] == "purchase_call_7d"
    assert due[0]["rules_applied"] == ["quiet_hours", "contact_cap"]
    done = await rig.get("/v1/followups", dealership_id=DEALERSHIP, status="done")
    assert [(f["follow_up_id"], f["outcome"]) for f in done["items"]] == [("fu-done", "reached")]
    skipped = await rig.get("/v1/followups", dealership_id=DEALERSHIP, status="skipped")
    assert skipped["items"][0]["skip_reason"] == "opted_out"

    rig.clock.advance(timedelta(hours=3))  # fu-a's time has come
    assert await listed("due") == [
        ("fu-late", "overdue"),
        ("fu-now", "overdue"),
        ("fu-a", "overdue"),
    ]
    assert await listed("upcoming") == [("fu-b", "upcoming")]
    assert await listed("overdue") == await listed("due")
    bad = await rig.http.get("/v1/followups", params={"dealership_id": DEALERSHIP, "status": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"


async def test_referral_claim_checks_verdict_and_reward(rig: Rig) -> None:
    referrer = await rig.send(
        "CustomerRegistered", phones=["13900139000"], customer={"phone": "13900139000"}
    )
    referrer_id = await rig.customer_id(referrer)
    claim = await rig.send("ReferralClaimed", referral_id="rf-1", occurred_at=rig.at(-48))
    referee_id = await rig.customer_id(claim)
    await rig.send("ReferralCallbackAnswered", referral_id="rf-1", occurred_at=rig.at(-2))
    await rig.decide(
        ReferralVerified, referee_id, referral_id="rf-1", referrer_customer_id=referrer_id
    )
    await rig.decide(
        RewardGranted,
        referee_id,
        referral_id="rf-1",
        referrer_customer_id=referrer_id,
        kind="service_voucher",
        amount_cny=1000,
    )
    body = await rig.get("/v1/referrals/rf-1")
    assert body["referee_customer_id"] == referee_id
    assert body["referrer_customer_id"] == referrer_id
    assert body["claim"]["referrer"]["vehicle_model"] == "Jetta"
    assert {c["name"]: c["passed"] for c in body["checks"]} == {
        "registered_before_delivery": True,
        "referrer_known": True,
        "referrer_vehicle": True,
        "callback": True,
    }
    assert body["callback"] == body["callback"] | {"questions": 3, "wrong": 0}
    assert body["verdict"] == "rewarded"
    assert body["reward"]["amount_cny"] == 1000

    await rig.send("ReferralClaimed", referral_id="rf-2", customer={"phone": "13700137000"})
    await rig.decide(
        ReferralRejected,
        referee_id,
        referral_id="rf-2",
        reason="registered_after_delivery",
        detail="delivered first",
    )
    rejected = await rig.get("/v1/referrals/rf-2")
    assert rejected["verdict"] == "rejected"
    assert rejected["rejection"]["reason"] == "registered_after_delivery"
    assert rejected["checks"] == [
        rejected["checks"][0] | {"name": "registered_before_delivery", "passed": False}
    ]
    await rig.get("/v1/referrals/rf-404", expect=404)


async def test_satisfaction_metrics_by_advisor(rig: Rig) -> None:
    await rig.send("CustomerRegistered", occurred_at=rig.at(-100))
    await rig.send(
        "ServiceCompleted", repair_order_id="RO-9", advisor_id="adv-9", occurred_at=rig.at(-90)
    )
    for i, (kind, score) in enumerate((("CSI", 9), ("CSI", 7), ("NPS", 10), ("NPS", 3))):
        await rig.send(
            "SurveyAnswered",
            survey_id=f"sv-{i}",
            survey_kind=kind,
            score=score,
            about="RO-9",
            occurred_at=rig.at(-80 + i),
        )
    filed = await rig.send(
        "ComplaintFiled", complaint_id="CP-9", repair_order_id="RO-9", occurred_at=rig.at(-50)
    )
    await rig.send("ApologyIssued", complaint_id="CP-9", occurred_at=rig.at(-49.5))
    customer_id = await rig.customer_id(filed)
    await rig.decide(
        ComplaintResolved,
        customer_id,
        complaint_id="CP-9",
        resolved_at=rig.clock.now() - timedelta(hours=30),
        hours_to_resolution=20.0,
        within_sla=True,
    )
    # After the resolution: the remedy repair (the complaint's own repair order) and free
    # warranty work, neither of them a repurchase (services/projections/repurchase.py).
    await rig.send(
        "ServiceCompleted", repair_order_id="RO-9", advisor_id="adv-9", occurred_at=rig.at(-10)
    )
    await rig.send(
        "ServiceCompleted",
        repair_order_id="RO-10",
        advisor_id="adv-9",
        amount_cny=0,
        occurred_at=rig.at(-9),
    )

    period: dict[str, Any] = {"from": rig.at(-24 * 7), "to": rig.at(0)}
    body = await rig.get(
        "/v1/metrics/satisfaction", dealership_id=DEALERSHIP, group_by="advisor", **period
    )
    (group,) = [g for g in body["groups"] if g["group"] == "adv-9"]
    assert group["csi"] == {"count": 2, "mean": 8.0}
    assert group["nps"] == group["nps"] | {
        "count": 2,
        "promoters": 1,
        "detractors": 1,
        "score": 0.0,
    }
    complaints = group["complaints"]
    assert complaints["total"] == 1 and complaints["by_category"] == {"broken_promise": 1}
    # resolved (step 5), not closed: the advisor's funnel has it standing at step 5
    assert [s["reached"] for s in complaints["funnel"]] == [1, 1, 1, 1, 1, 0]
    assert [s["standing"] for s in complaints["funnel"]] == [0, 0, 0, 0, 1, 0]
    assert group["hours_to_apology"]["p50"] == 0.5
    assert group["hours_to_resolution"]["p90"] == 20.0
    assert group["resolved_within_sla"]["rate"] == 1.0
    # Inside its 12-month observation window the complaint is pending, not a rate.
    assert group["repurchase"]["resolved_quickly"] == {
        "numerator": 0,
        "denominator": 0,
        "rate": None,
        "pending": 1,
    }
    assert group["silent_dissatisfied_estimate"] == 20.0

    async def quickly() -> dict[str, Any]:
        later = await rig.get(
            "/v1/metrics/satisfaction", dealership_id=DEALERSHIP, group_by="advisor", **period
        )
        (found,) = [g for g in later["groups"] if g["group"] == "adv-9"]
        return dict(found["repurchase"]["resolved_quickly"])

    # A year on, the window has ended: the remedy repair and warranty work bought nothing…
    rig.clock.advance(timedelta(days=366))
    assert await quickly() == {"numerator": 0, "denominator": 1, "rate": 0.0, "pending": 0}
    # …and a paid service inside the window is the repurchase.
    rig.clock.advance(timedelta(days=-366))
    await rig.send(
        "ServiceCompleted", repair_order_id="RO-11", advisor_id="adv-9", occurred_at=rig.at(-1)
    )
    rig.clock.advance(timedelta(days=366))
    assert await quickly() == {"numerator": 1, "denominator": 1, "rate": 1.0, "pending": 0}
    bad = await rig.get(
        "/v1/metrics/satisfaction",
        expect=422,
        dealership_id=DEALERSHIP,
        **{"from": "2026-01-01T00:00:00"},
    )
    assert bad["field"] == "from"


async def test_audit_streams_recorded_events_with_a_hash_chain(rig: Rig) -> None:
    first = await rig.send("CustomerRegistered", occurred_at=rig.at(-3))
    await rig.send("CustomerVisited", occurred_at=rig.at(-2))
    await rig.send("CustomerRegistered", phones=["13900139000"], customer={"phone": "13900139000"})
    customer_id = await rig.customer_id(first)
    await rig.settled()

    response = await rig.http.get(
        "/v1/audit", params={"dealership_id": DEALERSHIP, "customer_id": customer_id}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.content.splitlines()
    *events, trailer_line = lines
    trailer = json.loads(trailer_line)
    assert trailer["count"] == len(events) == 2
    previous = ""
    seqs = []
    for line in events:
        record = json.loads(line)
        raw = raw_event(line)
        assert json.loads(raw) == record["event"]
        previous = hashlib.sha256(previous.encode() + raw).hexdigest()
        assert record["hash"] == previous
        seqs.append(record["seq"])
        stored = await rig.js.get_msg("RETENTION", record["seq"])
        assert stored.data == raw  # the bytes as recorded
    assert trailer["final_hash"] == previous and seqs == sorted(seqs)
    assert [json.loads(x)["event"]["event_type"] for x in events] == [
        "CustomerRegistered",
        "CustomerVisited",
    ]
    period = await rig.http.get("/v1/audit", params={"from": rig.at(-2.5), "to": rig.at(-1)})
    assert json.loads(period.content.splitlines()[-1])["count"] == 1
