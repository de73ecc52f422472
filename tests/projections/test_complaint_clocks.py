"""A complaint's due times are complaints' rule, recorded once (ComplaintClockSet): a
per-dealership SLA set only in complaints' settings is what the read API shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from nats.js import JetStreamContext
from projections_helpers import DEALERSHIP, Rig
from waiting import wait_for

from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from services.complaints.service import ComplaintsService
from services.complaints.settings import ComplaintSettings


async def test_a_per_dealership_sla_set_only_in_complaints_is_what_the_read_api_shows(
    rig: Rig, settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> None:
    only_here = ComplaintSettings(
        dealerships={DEALERSHIP: {"sla": "PT24H", "apology_within": "PT2H"}}
    )
    complaints = ComplaintsService(settings, clock, only_here)
    await complaints.start()
    try:
        filed = await rig.send("ComplaintFiled", complaint_id="CP-SLA", dealership_id=DEALERSHIP)

        async def clocks_shown() -> dict[str, str] | None:
            shown = await rig.get("/v1/complaints/CP-SLA", dealership_id=DEALERSHIP)
            return shown if shown.get("sla_due_at") else None

        shown = await wait_for(clocks_shown, what="the clocks complaints recorded")
    finally:
        await complaints.stop()
    at = datetime.fromisoformat(filed["occurred_at"])
    assert datetime.fromisoformat(shown["sla_due_at"]) == at + timedelta(hours=24)
    assert datetime.fromisoformat(shown["apology_due_at"]) == at + timedelta(hours=2)
