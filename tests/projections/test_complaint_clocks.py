"""A complaint's due times are complaints' rule, recorded once (ComplaintClockSet): a
per-dealership calendar and SLA set only in complaints' settings are what the read API
shows, and the hours it counted are what the metrics report, on a real nats-server.

Complaints runs on its own ManualClock, parked at the filing, so that no deadline fires
while the steps are published (intake and projections run at the rig's clock, later)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nats.js import JetStreamContext
from projections_helpers import DEALERSHIP, Rig
from waiting import wait_for

from events import parse_recorded
from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION
from services.complaints.ids import callback_follow_up_id, complaint_aggregate_id
from services.complaints.service import ComplaintsService
from services.complaints.settings import ComplaintSettings

CN = ZoneInfo("Asia/Shanghai")
# Only complaints knows these: closed at weekends and on Monday 3 March 2025, a 2 h apology
# and a 24 h SLA for medium complaints, counted in opening hours (the default clock).
ONLY_HERE = ComplaintSettings(
    dealerships={
        DEALERSHIP: {
            "opening_hours": {"sat": None, "sun": None},
            "closed_dates": ["2025-03-03"],
            "apology_within": "PT2H",
            "sla": {"medium": "PT24H"},
        }
    }
)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CN)


@pytest.fixture
async def complaints(
    settings: LaokeSettings, js: JetStreamContext
) -> AsyncIterator[tuple[ComplaintsService, ManualClock]]:
    parked = ManualClock(local("2025-03-01 10:00"))
    service = ComplaintsService(settings, parked, ONLY_HERE)
    await service.start()
    yield service, parked
    await service.stop()


async def shown_when(rig: Rig, complaint_id: str, ready: Callable[[dict[str, Any]], bool]) -> Any:
    async def answer() -> dict[str, Any] | None:
        shown = await rig.get(f"/v1/complaints/{complaint_id}", dealership_id=DEALERSHIP)
        return shown if ready(shown) else None

    return await wait_for(answer, what=f"{complaint_id} as expected")


async def recorded_clocks(js: JetStreamContext, complaint_id: str) -> list[Any]:
    info = await js.stream_info(RETENTION)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        event = parse_recorded((await js.get_msg(RETENTION, seq)).data or b"")
        if event.event_type == "ComplaintClockSet" and event.complaint_id == complaint_id:  # type: ignore[attr-defined]
            found.append(event)
    return found


async def test_a_per_dealership_calendar_set_only_in_complaints_is_what_the_read_api_shows(
    rig: Rig,
    complaints: tuple[ComplaintsService, ManualClock],
    js: JetStreamContext,
) -> None:
    # Saturday 10:00: closed Saturday, Sunday and Monday; open Tuesday 09:00.
    filed_at = local("2025-03-01 10:00")
    await rig.send(
        "ComplaintFiled",
        complaint_id="CP-SLA",
        dealership_id=DEALERSHIP,
        severity="medium",
        occurred_at=filed_at.isoformat(),
    )
    shown = await shown_when(rig, "CP-SLA", lambda c: c["sla_due_at"] is not None)
    (recorded,) = await recorded_clocks(js, "CP-SLA")

    due = {
        name: datetime.fromisoformat(shown[name])
        for name in ("apology_due_at", "sla_due_at", "general_manager_due_at")
    }
    assert due == {
        "apology_due_at": local("2025-03-04 11:00"),  # Tuesday, 2 h after opening
        "sla_due_at": local("2025-03-05 21:00"),  # Tuesday and Wednesday, 12 h each
        "general_manager_due_at": local("2025-03-07 21:00"),  # twice: to Friday's close
    }
    assert due == {
        "apology_due_at": recorded.apology_due_at,
        "sla_due_at": recorded.sla_due_at,
        "general_manager_due_at": recorded.general_manager_due_at,
    }
    assert (shown["clock"], shown["apology_within_hours"], shown["sla_hours"]) == (
        "business",
        2,
        24,
    )


async def test_a_dissatisfied_callback_reopens_the_complaint_and_the_metrics_count_both_clocks(
    rig: Rig, complaints: tuple[ComplaintsService, ManualClock]
) -> None:
    # Filed on Tuesday evening at 23:30; apologised for the next morning at 09:30.
    filed_at, complaint_id = local("2025-03-04 23:30"), "CP-RE"
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("ComplaintFiled", "2025-03-04 23:30", {"severity": "medium"}),
        ("ApologyIssued", "2025-03-05 09:30", {}),
        ("ComplaintInvestigated", "2025-03-05 10:00", {}),
        ("RemedyProposed", "2025-03-05 11:00", {"role": "advisor", "amount_cny": 500}),
        ("RemedyAccepted", "2025-03-05 12:00", {}),
    ]
    for event_type, at, extra in steps:
        await rig.send(
            event_type,
            complaint_id=complaint_id,
            dealership_id=DEALERSHIP,
            occurred_at=local(at).isoformat(),
            **extra,
        )
    await shown_when(rig, complaint_id, lambda c: c["resolved_at"] is not None)
    aggregate = complaint_aggregate_id(DEALERSHIP, complaint_id)
    await rig.send(
        "FollowUpCompleted",
        dealership_id=DEALERSHIP,
        follow_up_id=callback_follow_up_id(aggregate),
        outcome="reached",
        satisfaction=4,
        occurred_at=local("2025-03-10 10:00").isoformat(),
    )
    # The reopening and the escalation are two events: wait until both are shown.
    shown = await shown_when(
        rig, complaint_id, lambda c: c["reopenings"] != [] and c["escalations"] != []
    )

    assert (shown["step"], shown["resolved_at"], shown["closed_at"]) == (4, None, None)
    assert [(r["outcome"], r["satisfaction"]) for r in shown["reopenings"]] == [("reached", 4)]
    assert [(e["why"], e["escalated_to"], e["level"]) for e in shown["escalations"]] == [
        ("callback_dissatisfied", "manager", 1)
    ]
    assert [r["status"] for r in shown["remedies"]] == ["reopened"]
    assert (shown["hours_to_apology"], shown["business_hours_to_apology"]) == (10.0, 0.5)

    metrics = await rig.get(
        "/v1/metrics/satisfaction",
        dealership_id=DEALERSHIP,
        **{"from": filed_at.isoformat(), "to": local("2025-03-06 00:00").isoformat()},
    )
    (group,) = metrics["groups"]
    assert (group["hours_to_apology"]["p50"], group["business_hours_to_apology"]["p50"]) == (
        10.0,
        0.5,
    )
    assert group["hours_to_resolution"]["count"] == 0  # reopened: not resolved any more
    assert group["business_hours_to_resolution"]["count"] == 0
