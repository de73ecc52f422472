"""A dealership's own repurchase observation window (`LAOKE_PROJECTIONS_DEALERSHIPS`'
`repurchase_window_days`) is the one `GET /v1/metrics/satisfaction` counts with, on a real
nats-server: 200 days after a resolution, the default year still has the complaint pending;
a dealership observing 180 days counts it, and no repurchase came."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from projections_helpers import DEALERSHIP, Rig

from events import ComplaintResolved
from services.projections.api import build_app
from services.projections.service import ProjectionsService
from services.projections.settings import ProjectionSettings

OWN_WINDOW = ProjectionSettings(dealerships={DEALERSHIP: {"repurchase_window_days": 180}})


async def resolved_quickly(http: httpx.AsyncClient, period: dict[str, Any]) -> Any:
    response = await http.get(
        "/v1/metrics/satisfaction", params={"dealership_id": DEALERSHIP, **period}
    )
    assert response.status_code == 200, response.text
    (everyone,) = response.json()["groups"]
    return everyone["repurchase"]["resolved_quickly"]


async def test_a_dealerships_own_window_decides_when_a_complaint_counts(rig: Rig) -> None:
    filed = await rig.send("ComplaintFiled", complaint_id="CP-7", occurred_at=rig.at(-50))
    await rig.send("ApologyIssued", complaint_id="CP-7", occurred_at=rig.at(-49.5))
    await rig.decide(
        ComplaintResolved,
        await rig.customer_id(filed),
        complaint_id="CP-7",
        resolved_at=rig.clock.now() - timedelta(hours=30),
        hours_to_resolution=20.0,
        within_sla=True,
    )
    period = {"from": rig.at(-24 * 7), "to": rig.at(0)}
    await rig.settled()
    rig.clock.advance(timedelta(days=200))

    assert await resolved_quickly(rig.http, period) == {
        "numerator": 0,
        "denominator": 0,
        "rate": None,
        "pending": 1,
    }
    own = ProjectionsService(rig.settings, rig.clock, OWN_WINDOW)  # the same store, read only
    transport = httpx.ASGITransport(app=build_app(own))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert await resolved_quickly(http, period) == {
                "numerator": 0,
                "denominator": 1,
                "rate": 0.0,
                "pending": 0,
            }
    finally:
        own.store.close()
