"""API keys: hashed, scoped to dealerships (read / write) or ops; enforced on every /v1 route."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext
from waiting import wait_for

from events.factories import sample_inbound
from laoke.auth import KeyStore
from laoke.clock import SystemClock
from laoke.http import build_http_app
from laoke.registry import Service, entry
from laoke.settings import LaokeSettings

A, B = "dealer-a", "dealer-b"


@dataclass
class Api:
    http: httpx.AsyncClient
    keys: KeyStore
    a_read: str
    a_write: str
    b_write: str
    ops: str

    async def get(self, key: str, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers={"Authorization": f"Bearer {key}"})

    async def post(self, key: str, body: Any) -> httpx.Response:
        return await self.http.post("/v1/events", json=body, headers={"X-API-Key": key})


def visit(dealership: str, phone: str) -> dict[str, Any]:
    return sample_inbound("CustomerVisited", dealership_id=dealership, customer={"phone": phone})


def complaint(dealership: str, phone: str, complaint_id: str) -> dict[str, Any]:
    return sample_inbound(
        "ComplaintFiled",
        dealership_id=dealership,
        customer={"phone": phone},
        complaint_id=complaint_id,
    )


@pytest.fixture
async def api(settings: LaokeSettings, js: JetStreamContext) -> AsyncIterator[Api]:
    settings = settings.model_copy(update={"auth": "on"})
    running: list[tuple[Any, Service]] = []
    for name in ("projections", "workshop", "intake"):
        service = entry(name).build(settings, SystemClock())
        await service.start()
        running.append((entry(name), service))
    keys = KeyStore(settings)
    app = build_http_app(running, keys)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://laoke") as http:
        yield Api(
            http,
            keys,
            a_read=keys.create([A])[1],
            a_write=keys.create([A], write=True)[1],
            b_write=keys.create([B], write=True)[1],
            ops=keys.create([], read=False, ops=True)[1],
        )
    for _, service in reversed(running):
        await service.stop()


async def seeded(api: Api) -> dict[str, str]:
    """One customer and one complaint at each dealership; returns their customer ids."""
    ids = {}
    seeds = ((A, api.a_write, "13800138001"), (B, api.b_write, "13800138002"))
    for dealership, key, phone in seeds:
        events = [visit(dealership, phone), complaint(dealership, phone, "CP-1")]
        answer = await api.post(key, events)
        assert answer.status_code == 200, answer.text
        ids[dealership] = answer.json()["results"][0]["customer_id"]

    async def projected() -> bool:
        for dealership, key in ((A, api.a_write), (B, api.b_write)):
            found = await api.get(key, f"/v1/customers/{ids[dealership]}")
            if found.status_code != 200:
                return False
            answer = await api.get(key, "/v1/complaints/CP-1", dealership_id=dealership)
            if answer.status_code != 200:
                return False
        return True

    await wait_for(projected)
    return ids


async def test_no_key_or_a_wrong_or_revoked_key_is_401(api: Api) -> None:
    assert (await api.http.get("/v1/followups", params={"dealership_id": A})).status_code == 401
    assert (await api.get("lk_nope_nope", "/v1/followups", dealership_id=A)).status_code == 401
    key, secret = api.keys.create([A])
    assert (await api.get(secret, "/v1/followups", dealership_id=A)).status_code == 200
    assert api.keys.revoke(key.id)
    fresh = build_http_app([], api.keys)  # a new process: no cache
    transport = httpx.ASGITransport(app=fresh)
    async with httpx.AsyncClient(transport=transport, base_url="http://laoke") as other:
        answer = await other.get("/v1/customers/x", headers={"X-API-Key": secret})
    assert answer.status_code == 401
    assert (await api.http.get("/healthz")).status_code == 200  # ops endpoints stay open


def test_keys_are_stored_only_as_sha256(settings: LaokeSettings) -> None:
    keys = KeyStore(settings)
    key, secret = keys.create([A], write=True, label="dms")
    assert keys.authenticate(secret) == key
    if settings.store == "sqlite":
        with sqlite3.connect(settings.sqlite_path("keys")) as conn:
            dump = "\n".join(conn.iterdump())
        assert secret not in dump
        assert hashlib.sha256(secret.encode()).hexdigest() in dump
    assert [k.id for k in keys.list()] == [key.id]


async def test_a_key_for_a_reads_nothing_of_b(api: Api) -> None:
    ids = await seeded(api)
    key = api.a_read
    # A's own data: fine.
    assert (await api.get(key, f"/v1/customers/{ids[A]}")).status_code == 200
    assert (await api.get(key, f"/v1/customers/{ids[A]}/timeline")).status_code == 200
    assert (await api.get(key, "/v1/complaints/CP-1")).json()["dealership_id"] == A
    # B's resources by id: 404, as if they did not exist.
    assert (await api.get(key, f"/v1/customers/{ids[B]}")).status_code == 404
    assert (await api.get(key, f"/v1/customers/{ids[B]}/timeline")).status_code == 404
    assert (await api.get(key, "/v1/customers", phone="13800138002")).status_code == 404
    # Naming B: 403.
    for path in (
        "/v1/complaints/CP-1",
        "/v1/complaints",
        "/v1/followups",
        "/v1/metrics/satisfaction",
        "/v1/audit",
        "/v1/workshop/queue",
        "/v1/workshop/breaches",
    ):
        answer = await api.get(key, path, dealership_id=B)
        assert answer.status_code == 403, (path, answer.text)
        assert "message" in answer.json()


async def test_audit_across_dealerships_is_for_ops_keys_only(api: Api) -> None:
    await seeded(api)
    two = api.keys.create([A, B])[1]
    assert (await api.get(two, "/v1/audit")).status_code == 403
    own = await api.get(api.a_read, "/v1/audit")  # filled in: its one dealership
    assert own.status_code == 200
    assert own.text and B not in own.text
    everything = await api.get(api.ops, "/v1/audit")
    assert everything.status_code == 200
    assert A in everything.text and B in everything.text
    # An ops key is for audit: it reads no customer.
    assert (await api.get(api.ops, "/v1/followups", dealership_id=A)).status_code == 403


async def test_writing_needs_a_write_key_for_each_events_dealership(api: Api) -> None:
    read_only = await api.post(api.a_read, visit(A, "13800138003"))
    assert read_only.status_code == 403
    assert read_only.json()["results"][0]["reason"] == "forbidden_dealership"
    mixed = await api.post(
        api.a_write, [visit(B, "13800138004"), visit(A, "13800138005"), {"not": "an event"}]
    )
    assert mixed.status_code == 200, mixed.text
    body = mixed.json()
    statuses = [(r["index"], r["status"], r["reason"]) for r in body["results"]]
    assert statuses[0] == (0, "rejected", "forbidden_dealership")
    assert statuses[1] == (1, "accepted", None)
    assert statuses[2][:2] == (2, "rejected") and statuses[2][2] != "forbidden_dealership"
    assert (body["accepted"], body["rejected"]) == (1, 2)
    only_b = await api.post(api.a_write, visit(B, "13800138006"))
    assert only_b.status_code == 403


def test_the_keys_command_creates_lists_and_revokes(
    settings: LaokeSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    from laoke.cli import keys_command

    assert keys_command(settings, ["create", "--dealership", A, "--write", "--label", "dms"]) == 0
    created = capsys.readouterr().out
    secret = created.split("secret (shown once, keep it safe): ")[1].strip()
    key = KeyStore(settings).authenticate(secret)
    assert key is not None and key.write and key.dealerships == (A,)
    assert keys_command(settings, ["list"]) == 0
    listed = capsys.readouterr().out
    assert key.id in listed and secret not in listed
    assert keys_command(settings, ["revoke", key.id]) == 0
    assert KeyStore(settings).authenticate(secret) is None
    assert keys_command(settings, ["revoke", key.id]) == 1


def test_the_privacy_scope_is_kept_and_an_older_key_table_gains_it(
    settings: LaokeSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    from laoke.auth import TABLE
    from laoke.cli import keys_command

    older = KeyStore(settings)  # made a table of the version before the scope
    old_key, old_secret = older.create([A], label="before")
    older._execute(f"ALTER TABLE {TABLE} DROP COLUMN privacy")
    with pytest.raises(Exception, match="privacy"):
        older.authenticate(old_secret)

    keys = KeyStore(settings)  # this version: the column is added, old keys have no scope
    found = keys.authenticate(old_secret)
    assert found is not None and found.id == old_key.id and not found.privacy
    assert keys_command(settings, ["create", "--dealership", A, "--privacy", "--no-read"]) == 0
    secret = capsys.readouterr().out.split("keep it safe): ")[1].strip()
    key = keys.authenticate(secret)
    assert key is not None and key.privacy and not key.read and key.dealerships == (A,)
    assert keys_command(settings, ["list"]) == 0
    listed = {k["id"]: k["privacy"] for k in map(json.loads, capsys.readouterr().out.splitlines())}
    assert listed == {old_key.id: False, key.id: True}
    with pytest.raises(SystemExit):  # the scope is for named dealerships
        keys_command(settings, ["create", "--ops", "--privacy"])
