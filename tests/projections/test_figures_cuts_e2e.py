"""The figures end to end: the never-complained baseline and the silent customers as the
store holds them, and the cuts: several dealerships rolled up for a key that reads them
all (403 for one that does not), by dealership, department and advisor; the classes too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from projections_helpers import DEALERSHIP, Rig

from laoke.auth import KeyStore
from laoke.http import build_http_app
from laoke.registry import entry

OTHER = "other-4s"


BACK = 100  # days: the story starts this long ago (intake refuses events from the future)


async def serviced(rig: Rig, dealership: str, phone: str, advisor: str, *visits: int) -> None:
    """A customer registered with `advisor` and paid service on these days of the story."""
    customer = {"phone": phone}
    await rig.send(
        "CustomerRegistered",
        dealership_id=dealership,
        customer=customer,
        phones=[phone],
        advisor_id=advisor,
        occurred_at=rig.at(24 * (-BACK) - 1),
    )
    for n, visit in enumerate(visits):
        await rig.send(
            "ServiceCompleted",
            dealership_id=dealership,
            customer=customer,
            repair_order_id=f"RO-{phone}-{n}",
            vin=f"LSGKB54E0K{phone[-7:]}",  # a VIN of their own (a VIN names a vehicle)
            advisor_id=advisor,
            occurred_at=rig.at(24 * (visit - BACK)),
        )


@pytest.fixture
async def http(rig: Rig) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    settings = rig.settings.model_copy(update={"auth": "on"})
    store = KeyStore(settings)
    app = build_http_app([(entry("projections"), rig.projections)], store)
    keys = {"own": store.create([DEALERSHIP])[1], "both": store.create([DEALERSHIP, OTHER])[1]}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://laoke") as client:
        yield client, keys


async def test_figures_roll_up_and_cut(
    rig: Rig, http: tuple[httpx.AsyncClient, dict[str, str]]
) -> None:
    client, keys = http
    start = rig.at(24 * (-BACK) - 2)
    # At ours: A paid twice (never complained, bought again), B paid once then scored 3.
    await serviced(rig, DEALERSHIP, "13800000001", "adv-1", 0, 60)
    await serviced(rig, DEALERSHIP, "13800000002", "adv-2", 0)
    await rig.send(
        "SurveyAnswered",
        dealership_id=DEALERSHIP,
        customer={"phone": "13800000002"},
        survey_id="sv-b",
        score=3,
        about="RO-13800000002-0",
        occurred_at=rig.at(24 * (30 - BACK)),
    )
    # At theirs: C paid once and never came back.
    await serviced(rig, OTHER, "13800000003", "adv-1", 0)
    end = rig.at(24 * (90 - BACK))
    rig.clock.advance(timedelta(days=500))  # every window has ended

    async def get(key: str, path: str = "/v1/metrics/satisfaction", **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {keys[key]}"}
        query: dict[str, Any] = {"from": start, "to": end} | params
        return await client.get(path, params=query, headers=headers)

    both = await get("both", dealership_id=[DEALERSHIP, OTHER], baseline="true")
    assert both.status_code == 200, both.text
    body = both.json()
    assert body["dealership_ids"] == [DEALERSHIP, OTHER] and body["dealership_id"] is None
    (everyone,) = body["groups"]
    dissatisfaction = everyone["dissatisfaction"]
    never = dissatisfaction["fixed_versus_untroubled"]["never_complained"]
    assert (never["numerator"], never["denominator"], never["pending"]) == (1, 2, 0)  # A; C
    assert dissatisfaction["silent"]["signalled"] == 1  # B
    assert dissatisfaction["csi_low"] == {"answers": 1, "low": 1, "share": 1.0}
    assert everyone["repurchase"]["dissatisfied_never_complained"]["denominator"] == 1

    cut = await get(
        "both", dealership_id=[DEALERSHIP, OTHER], group_by="dealership,advisor", baseline="true"
    )
    groups = {g["group"]: g for g in cut.json()["groups"]}
    assert set(groups) == {f"{DEALERSHIP}/adv-1", f"{DEALERSHIP}/adv-2", f"{OTHER}/adv-1"}
    ours_a = groups[f"{DEALERSHIP}/adv-1"]
    assert (ours_a["dealership_id"], ours_a["advisor_id"]) == (DEALERSHIP, "adv-1")
    assert ours_a["dissatisfaction"]["fixed_versus_untroubled"]["never_complained"]["rate"] == 1.0
    theirs = groups[f"{OTHER}/adv-1"]["dissatisfaction"]["fixed_versus_untroubled"]
    assert theirs["never_complained"]["rate"] == 0.0

    by_department = await get("own", group_by="department")
    assert [g["group"] for g in by_department.json()["groups"]] == ["service"]
    assert by_department.json()["dealership_ids"] == [DEALERSHIP]

    refused = await get("own", dealership_id=[DEALERSHIP, OTHER])
    assert refused.status_code == 403 and OTHER in refused.json()["message"]
    unnamed = await get("both")
    assert unnamed.status_code == 422
    bad = await get("own", group_by="branch")
    assert bad.status_code == 422 and bad.json()["field"] == "group_by"

    classes = await get(
        "both", "/v1/metrics/classes", dealership_id=[DEALERSHIP, OTHER], group_by="dealership"
    )
    answer = classes.json()
    assert sum(row["customers"] for row in answer["classes"]) == 3
    counted = {g["group"]: sum(row["customers"] for row in g["classes"]) for g in answer["groups"]}
    assert counted == {DEALERSHIP: 2, OTHER: 1}
    advisors = await get("own", "/v1/metrics/classes", group_by="advisor")
    assert [g["group"] for g in advisors.json()["groups"]] == ["adv-1", "adv-2"]
