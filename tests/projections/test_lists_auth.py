"""The API key rules on every list (work list, complaints, customers, referrals), in JSON and
in CSV: 401 without a live key, 403 naming a dealership the key may not read, the key's own
dealership when it reads one, 422 when it reads several and names none; another
dealership's rows are on none of its lists, and its ids answer 404."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from projections_helpers import DEALERSHIP, Rig

from events import FollowUpDue
from laoke.auth import KeyStore
from laoke.http import build_http_app
from laoke.registry import entry

OTHER = "other-4s"
LISTS = {
    "/v1/followups": "follow_up_id",
    "/v1/complaints": "complaint_id",
    "/v1/customers": "customer_id",
    "/v1/referrals": "referral_id",
}
STATUS = {"/v1/complaints": "open"}  # every complaint, however old


@dataclass
class Keys:
    http: httpx.AsyncClient
    own: str
    elsewhere: str
    both: str

    async def get(
        self, key: str | None, path: str, csv_wanted: bool = False, **params: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if csv_wanted:
            headers["Accept"] = "text/csv"
        return await self.http.get(path, params=params | _status(path), headers=headers)


def _status(path: str) -> dict[str, str]:
    return {"status": STATUS[path]} if path in STATUS else {}


async def seed(rig: Rig, dealership: str) -> str:
    """One of each list's rows at the dealership (the same phone at both: two customers)."""
    sent = await rig.send("CustomerRegistered", dealership_id=dealership)
    customer_id = await rig.customer_id(sent)
    await rig.send("ComplaintFiled", dealership_id=dealership, complaint_id=f"CP-{dealership}")
    await rig.send(
        "ReferralClaimed",
        dealership_id=dealership,
        referral_id=f"rf-{dealership}",
        customer={"phone": "13900139000"},
    )
    await rig.decide(
        FollowUpDue,
        customer_id,
        dealership=dealership,
        follow_up_id=f"fu-{dealership}",
        reason="purchase_call_7d",
        channel="phone",
        due_at=rig.clock.now() - timedelta(hours=1),
    )
    return customer_id


@pytest.fixture
async def keys(rig: Rig) -> AsyncIterator[Keys]:
    settings = rig.settings.model_copy(update={"auth": "on"})
    store = KeyStore(settings)
    app = build_http_app([(entry("projections"), rig.projections)], store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://laoke") as http:
        yield Keys(
            http,
            own=store.create([DEALERSHIP])[1],
            elsewhere=store.create([OTHER])[1],
            both=store.create([DEALERSHIP, OTHER])[1],
        )


def csv_ids(response: httpx.Response, column: str) -> list[str]:
    rows = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))
    return [row[column] for row in rows]


async def test_every_list_follows_the_key(rig: Rig, keys: Keys) -> None:
    ours = await seed(rig, DEALERSHIP)
    theirs = await seed(rig, OTHER)
    for path, id_column in LISTS.items():
        for as_csv in (False, True):
            where = (path, "csv" if as_csv else "json")
            for key in (None, "lk_nope_nope"):
                refused = await keys.get(key, path, as_csv, dealership_id=DEALERSHIP)
                assert refused.status_code == 401 and refused.json()["message"], where
            forbidden = await keys.get(keys.elsewhere, path, as_csv, dealership_id=DEALERSHIP)
            assert forbidden.status_code == 403 and forbidden.json()["message"], where
            unnamed = await keys.get(keys.both, path, as_csv)
            assert unnamed.status_code == 422, where
            assert "dealership_id" in unnamed.json()["message"], where

            named = await keys.get(keys.own, path, as_csv, dealership_id=DEALERSHIP)
            implied = await keys.get(keys.own, path, as_csv)
            other = await keys.get(keys.both, path, as_csv, dealership_id=OTHER)
            assert named.status_code == implied.status_code == other.status_code == 200, where
            if as_csv:
                mine, yours = csv_ids(named, id_column), csv_ids(other, id_column)
                assert csv_ids(implied, id_column) == mine, where
            else:
                mine = [item[id_column] for item in named.json()["items"]]
                yours = [item[id_column] for item in other.json()["items"]]
                assert implied.json() == named.json(), where
            assert mine and yours and not set(mine) & set(yours), where
            if path == "/v1/customers":
                assert ours in mine and theirs in yours, where

    # Another dealership's ids are not found, whichever list they were seen on.
    for path in (
        f"/v1/customers/{theirs}",
        "/v1/complaints/CP-other-4s",
        "/v1/referrals/rf-other-4s",
    ):
        assert (await keys.get(keys.own, path)).status_code == 404, path
    gone = await keys.get(keys.own, "/v1/customers", phone="13800138000", dealership_id=OTHER)
    assert gone.status_code == 403
    assert (await keys.get(keys.own, f"/v1/customers/{ours}")).status_code == 200


async def test_the_classes_figures_follow_the_key(rig: Rig, keys: Keys) -> None:
    """`/v1/metrics/classes`: 401 without a live key, 403 for another dealership, and the
    key's own dealership's customers only, every class listed."""
    await seed(rig, DEALERSHIP)
    await seed(rig, OTHER)
    path = "/v1/metrics/classes"
    refused = await keys.get(None, path, dealership_id=DEALERSHIP)
    assert refused.status_code == 401 and refused.json()["message"]
    forbidden = await keys.get(keys.elsewhere, path, dealership_id=DEALERSHIP)
    assert forbidden.status_code == 403 and forbidden.json()["message"]
    own = await keys.get(keys.own, path, dealership_id=DEALERSHIP)
    assert own.status_code == 200, own.text
    body = own.json()
    assert [c["customer_class"] for c in body["classes"]] == [
        "gold",
        "meteor",
        "small_star",
        "burden",
    ]
    listed = await keys.get(keys.own, "/v1/customers", dealership_id=DEALERSHIP)
    rows = body["classes"]
    assert sum(c["customers"] for c in rows) == len(listed.json()["items"]) > 0
    assert {c["value_cny"] for c in rows} == {0.0}
