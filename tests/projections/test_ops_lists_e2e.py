"""The complaint and referral lists end to end (`GET /v1/complaints`, `GET /v1/referrals`):
each filter, cursor paging while rows arrive, and the older period list kept. Inbound
events go through intake on NATS; decisions are recorded straight on RETENTION."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from projections_helpers import DEALERSHIP, Rig

from events import (
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintResolved,
    ReferralRejected,
    ReferralVerified,
    RewardGranted,
)

OTHER_PHONE = "13900139000"


async def complaint(rig: Rig, complaint_id: str, hours: float, **fields: Any) -> str:
    """A complaint filed `hours` from now; its customer's id."""
    filed = await rig.send(
        "ComplaintFiled", complaint_id=complaint_id, occurred_at=rig.at(hours), **fields
    )
    return await rig.customer_id(filed)


def ids(body: dict[str, Any], key: str) -> list[str]:
    return [item[key] for item in body["items"]]


async def complaints(rig: Rig, **params: Any) -> list[str]:
    body = await rig.get("/v1/complaints", dealership_id=DEALERSHIP, **params)
    return ids(body, "complaint_id")


async def test_complaints_by_status_category_and_advisor(rig: Rig) -> None:
    await rig.send("CustomerRegistered", occurred_at=rig.at(-1000))  # the advisor: adv-001
    await rig.send("ServiceCompleted", occurred_at=rig.at(-900))  # RO-2025-0001 by adv-002
    mine = await complaint(rig, "CP-open", -800)  # about RO-2025-0001: adv-002's
    await complaint(rig, "CP-escalated", -700, category="arrogance", repair_order_id=None)
    await complaint(rig, "CP-resolved", -600)
    await complaint(rig, "CP-closed", -500, category="arrogance")
    await complaint(rig, "CP-recent", -2, category="slow_remedy", repair_order_id=None)
    await rig.decide(
        ComplaintEscalated,
        mine,
        complaint_id="CP-escalated",
        escalated_to="manager",
        why="sla_breached",
    )
    for complaint_id in ("CP-resolved", "CP-closed"):
        await rig.decide(
            ComplaintResolved,
            mine,
            complaint_id=complaint_id,
            resolved_at=rig.clock.now() - timedelta(hours=400),
            hours_to_resolution=100.0,
            within_sla=False,
        )
    await rig.decide(ComplaintClosed, mine, complaint_id="CP-closed", satisfaction=7)

    # With a status, every complaint in that state however old (30 days = 720 hours).
    assert await complaints(rig, status="open") == ["CP-open", "CP-recent"]
    assert await complaints(rig, status="escalated") == ["CP-escalated"]
    assert await complaints(rig, status="resolved") == ["CP-resolved"]
    assert await complaints(rig, status="closed") == ["CP-closed"]
    every = await rig.get("/v1/complaints", dealership_id=DEALERSHIP, status="open")
    assert {c["status"] for c in every["items"]} == {"open"}
    assert every["period_from"] is None and every["period_to"] is None
    shown = await rig.get("/v1/complaints/CP-escalated")
    assert shown["status"] == "escalated"
    # Without a status, the last 30 days as before (CP-open was filed 800 hours ago).
    assert await complaints(rig) == ["CP-escalated", "CP-resolved", "CP-closed", "CP-recent"]
    # A status and a period: both.
    since = rig.at(-650)
    assert await complaints(rig, status="resolved", **{"from": since}) == ["CP-resolved"]
    assert await complaints(rig, status="open", **{"from": since}) == ["CP-recent"]

    assert await complaints(rig, status="closed", category="arrogance") == ["CP-closed"]
    assert await complaints(rig, category="arrogance") == ["CP-escalated", "CP-closed"]
    # The advisor: of the repair order complained about, else the customer's (adv-001).
    assert await complaints(rig, status="open", advisor_id="adv-002") == ["CP-open"]
    assert await complaints(rig, status="open", advisor_id="adv-001") == ["CP-recent"]
    assert await complaints(rig, advisor_id="adv-404") == []
    for name, value in (("status", "pending"), ("category", "rude"), ("advisor_id", "a b")):
        bad = await rig.http.get(
            "/v1/complaints", params={"dealership_id": DEALERSHIP, name: value}
        )
        assert bad.status_code == 422 and bad.json()["field"] == name


async def test_complaint_pages_neither_repeat_nor_skip_while_complaints_arrive(rig: Rig) -> None:
    for n in range(5):
        await complaint(rig, f"CP-{n}", -10 + n)
    first = await rig.get("/v1/complaints", dealership_id=DEALERSHIP, status="open", limit=2)
    assert ids(first, "complaint_id") == ["CP-0", "CP-1"] and first["next_cursor"]

    # Between two pages: one filed after the cursor, one filed (late) before it.
    await complaint(rig, "CP-late", -1)
    await complaint(rig, "CP-backdated", -20)
    walked, cursor = ids(first, "complaint_id"), first["next_cursor"]
    while cursor:
        body = await rig.get(
            "/v1/complaints", dealership_id=DEALERSHIP, status="open", limit=2, cursor=cursor
        )
        assert body["count"] == len(body["items"]) <= 2
        walked += ids(body, "complaint_id")
        cursor = body["next_cursor"]
    assert walked == ["CP-0", "CP-1", "CP-2", "CP-3", "CP-4", "CP-late"]
    assert (await complaints(rig, status="open"))[0] == "CP-backdated"  # on the next walk

    # The older offset paging still works beside the cursor.
    assert await complaints(rig, offset=1, limit=2) == ["CP-0", "CP-1"]
    for cursor in ("nope", first["next_cursor"][:-3]):
        bad = await rig.http.get(
            "/v1/complaints", params={"dealership_id": DEALERSHIP, "cursor": cursor}
        )
        assert bad.status_code == 422 and bad.json()["field"] == "cursor"


async def referral(rig: Rig, referral_id: str, hours: float, phone: str) -> str:
    claimed = await rig.send(
        "ReferralClaimed",
        referral_id=referral_id,
        occurred_at=rig.at(hours),
        customer={"phone": phone},
        vin=None,
    )
    return await rig.customer_id(claimed)


async def referrals(rig: Rig, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await rig.get("/v1/referrals", dealership_id=DEALERSHIP, **params)
    return body


async def test_referrals_by_verdict_paged_while_claims_arrive(rig: Rig) -> None:
    referrer = await rig.customer_id(await rig.send("CustomerRegistered"))
    phones = [f"1390013900{n}" for n in range(5)]
    referees = [await referral(rig, f"rf-{n}", -50 + n, phones[n]) for n in range(4)]
    await rig.decide(
        ReferralVerified, referees[1], referral_id="rf-1", referrer_customer_id=referrer
    )
    await rig.decide(ReferralRejected, referees[2], referral_id="rf-2", reason="callback_failed")
    await rig.decide(
        ReferralVerified, referees[3], referral_id="rf-3", referrer_customer_id=referrer
    )
    await rig.decide(
        RewardGranted,
        referees[3],
        referral_id="rf-3",
        referrer_customer_id=referrer,
        kind="service_voucher",
        amount_cny=1000,
    )

    assert ids(await referrals(rig), "referral_id") == ["rf-0", "rf-1", "rf-2", "rf-3"]
    for verdict, expected in (
        ("pending", ["rf-0"]),
        ("verified", ["rf-1"]),
        ("rejected", ["rf-2"]),
        ("rewarded", ["rf-3"]),
    ):
        body = await referrals(rig, status=verdict)
        assert ids(body, "referral_id") == expected and body["status"] == verdict
        assert body["items"][0] == await rig.get(f"/v1/referrals/{expected[0]}")
    bad = await rig.http.get(
        "/v1/referrals", params={"dealership_id": DEALERSHIP, "status": "paid"}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "status"

    first = await referrals(rig, limit=3)
    assert ids(first, "referral_id") == ["rf-0", "rf-1", "rf-2"]
    await referral(rig, "rf-new", -1, phones[4])  # claimed between the two pages
    second = await referrals(rig, limit=3, cursor=first["next_cursor"])
    assert ids(second, "referral_id") == ["rf-3", "rf-new"] and second["next_cursor"] is None
