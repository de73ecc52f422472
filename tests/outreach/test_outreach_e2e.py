"""End to end on a real nats-server: inbound events through intake, FollowUpDue out of
outreach, each exactly once, across a restart of the outreach service."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from nats.js import JetStreamContext
from waiting import wait_for

from events import FollowUpDue, FollowUpSkipped, parse_recorded
from events.factories import sample_inbound
from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.intake.service import IntakeService
from services.outreach.service import OutreachService

SH = ZoneInfo("Asia/Shanghai")


async def publish(js: JetStreamContext, event_type: str, **overrides: object) -> None:
    event = sample_inbound(event_type, **overrides)
    subject = f"dealer.in.{event['dealership_id']}.{event_type}"
    await js.publish(subject, json.dumps(event, ensure_ascii=False).encode())


async def follow_ups(js: JetStreamContext) -> list[FollowUpDue]:
    info = await js.stream_info(RETENTION)
    found = []
    for seq in range(1, info.state.last_seq + 1):
        event = parse_recorded((await js.get_msg(RETENTION, seq)).data or b"")
        if isinstance(event, FollowUpDue) and event.source == "outreach":
            found.append(event)
    return found


async def skips(js: JetStreamContext) -> list[tuple[str, str]]:
    info = await js.stream_info(RETENTION)
    found = []
    for seq in range(1, info.state.last_seq + 1):
        event = parse_recorded((await js.get_msg(RETENTION, seq)).data or b"")
        if isinstance(event, FollowUpSkipped):
            found.append((event.follow_up_id, event.skip_reason))
    return found


async def consumers(js: JetStreamContext) -> str:
    """Where each stream and consumer stands, for a failure message."""
    lines = []
    for stream, durable in (("DEALER_IN", "intake"), (RETENTION, "outreach")):
        last = (await js.stream_info(stream)).state.last_seq
        info = await js.consumer_info(stream, durable)
        lines.append(
            f"{stream} last={last} {durable}: delivered={info.delivered.stream_seq} "
            f"acked={info.ack_floor.stream_seq} pending={info.num_pending} "
            f"ack_pending={info.num_ack_pending} waiting={info.num_waiting}"
        )
    return "; ".join(lines)


def reasons(found: list[FollowUpDue]) -> Counter[str]:
    return Counter(f.reason for f in found)


async def test_events_in_follow_ups_out_once_across_a_restart(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> None:
    intake = IntakeService(settings, clock)
    outreach = OutreachService(settings, clock)
    await intake.start()
    await outreach.start()
    try:
        await publish(js, "CustomerRegistered", occurred_at="2026-01-20T07:00:00+08:00")
        await publish(js, "VehiclePurchased", occurred_at="2026-01-20T07:30:00+08:00")

        async def two_calls() -> bool:
            return reasons(await follow_ups(js)) == {"purchase_call_7d": 1, "purchase_call_3m": 1}

        await wait_for(two_calls, explain=lambda: consumers(js))
        calls = {f.reason: f.due_at.astimezone(SH) for f in await follow_ups(js)}
        assert calls == {
            "purchase_call_7d": datetime(2026, 1, 27, 9, 0, tzinfo=SH),
            "purchase_call_3m": datetime(2026, 4, 20, 9, 0, tzinfo=SH),
        }

        await outreach.stop()  # restart on the same data dir
        outreach = OutreachService(settings, clock)
        await outreach.start()
        await publish(js, "ServiceCompleted", occurred_at="2026-01-20T12:00:00+08:00")

        async def survey() -> bool:
            return reasons(await follow_ups(js))["survey_csi"] == 1

        await wait_for(survey, explain=lambda: consumers(js))
        clock.set(datetime(2026, 2, 17, 2, 30, tzinfo=UTC))  # Spring Festival 2026, 10:30

        async def greeting() -> bool:
            return reasons(await follow_ups(js))["holiday_greeting"] == 1

        await wait_for(greeting, explain=lambda: consumers(js))
        await outreach.stop()
        outreach = OutreachService(settings, clock)
        await outreach.start()
        await publish(
            js, "SmallPurchaseMade", order_id="PO-9", occurred_at="2026-02-17T11:00:00+08:00"
        )
        await publish(
            js,
            "VehicleDelivered",
            delivered_at="2026-02-17T11:00:00+08:00",
            occurred_at="2026-02-17T11:00:00+08:00",
        )

        async def delivered() -> bool:
            return reasons(await follow_ups(js))["survey_ssi"] == 1

        await wait_for(delivered, explain=lambda: consumers(js))
        found = await follow_ups(js)
        assert len({f.follow_up_id for f in found}) == len(found)
        # the 3-month call, not yet due at the delivery, is counted from the delivery now
        # (the 7-day call, due on 27 Jan, was on the work list already and stays)
        assert {r: n for r, n in reasons(found).items() if r != "small_purchase_call"} == {
            "purchase_call_7d": 1,
            "purchase_call_3m": 2,
            "survey_csi": 1,
            "holiday_greeting": 1,
            "survey_ssi": 1,
        }
        first, moved = sorted(
            (f for f in found if f.reason == "purchase_call_3m"), key=lambda f: f.due_at
        )
        assert moved.due_at == datetime(2026, 5, 17, 11, 0, tzinfo=SH)
        assert moved.detail["replaces"] == first.follow_up_id
        assert await skips(js) == [(first.follow_up_id, "superseded")]
        greeting_due = next(f for f in found if f.reason == "holiday_greeting")
        assert greeting_due.due_at.astimezone(SH).date().isoformat() == "2026-02-17"
        assert greeting_due.detail["holiday"] == "Spring Festival"
    finally:
        await outreach.stop()
        await intake.stop()
