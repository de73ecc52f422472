"""NATS permissions: no anonymous connection; dealers and services publish only their subjects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient

from events.factories import sample_inbound
from laoke.clock import SystemClock
from laoke.natsauth import ADMIN, Credentials, authorization_config, dealer_user, service_user
from laoke.natsserver import NatsServer
from laoke.registry import entry
from laoke.service import nats_options
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams

A, B = "dealer-a", "dealer-b"
SERVICES = ["intake", "complaints"]


@pytest.fixture
def creds(tmp_path: Path) -> Credentials:
    return Credentials.load_or_create(tmp_path / "nats-credentials.json", SERVICES, [A, B])


@pytest.fixture
def secured(tmp_path: Path, creds: Credentials) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats-auth", extra_config=authorization_config(creds.passwords))
    server.start()
    yield server
    server.stop()


class Client:
    def __init__(self, nc: NatsClient, errors: list[Exception]) -> None:
        self.nc = nc
        self.errors = errors

    async def refused(self, subject: str) -> bool:
        """Publish, flush, and tell whether the server answered a permissions violation."""
        before = len(self.errors)
        await self.nc.publish(subject, b"{}")
        await self.nc.flush()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while loop.time() < deadline:
            if any("permissions violation" in str(e).lower() for e in self.errors[before:]):
                return True
            await self.nc.flush()  # a later PONG proves the server read the publish already
            if len(self.errors) == before:
                return False
        return False


@pytest.fixture
async def connect(secured: NatsServer, creds: Credentials) -> AsyncIterator[Any]:
    await secured.wait_ready()
    clients: list[NatsClient] = []

    async def as_user(user: str) -> Client:
        errors: list[Exception] = []

        async def on_error(error: Exception) -> None:
            errors.append(error)

        nc = await nats.connect(
            secured.url,
            user=user,
            password=creds.password(user),
            inbox_prefix=f"_INBOX.{user}",
            error_cb=on_error,
            allow_reconnect=False,
        )
        clients.append(nc)
        return Client(nc, errors)

    yield as_user
    for nc in clients:
        await nc.close()


async def test_nobody_connects_without_credentials(secured: NatsServer, creds: Credentials) -> None:
    await secured.wait_ready()
    for options in ({}, {"user": dealer_user(A), "password": "wrong"}):
        with pytest.raises(Exception, match=r"(?i)authorization violation"):
            await nats.connect(
                secured.url,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                connect_timeout=2,
                **options,
            )


async def test_a_dealership_publishes_only_under_its_own_subject(connect: Any) -> None:
    dealer = await connect(dealer_user(A))
    assert not await dealer.refused(f"dealer.in.{A}.CustomerVisited")
    assert await dealer.refused(f"dealer.in.{B}.CustomerVisited")
    assert await dealer.refused("retention.dealer-a.c-1.CustomerVisited")
    await dealer.nc.subscribe("_INBOX.>")  # listening in on everybody's replies: refused
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not any("subscription" in str(e).lower() for e in dealer.errors):
        assert loop.time() < deadline, "the server accepted the subscription"
        await dealer.nc.flush()


async def test_services_publish_only_the_types_they_record(connect: Any) -> None:
    intake = await connect(service_user("intake"))
    complaints = await connect(service_user("complaints"))
    assert not await intake.refused(f"retention.{A}.c-1.CustomerVisited")
    assert not await intake.refused("dlq.intake.bad_json")
    assert await intake.refused(f"retention.{A}.c-1.ComplaintEscalated")
    # Intake forwards HTTP events (keys checked per dealership) to the replica of their
    # partition (docs/scale.md); no other service writes inbound subjects.
    assert not await intake.refused(f"dealer.in.{A}.CustomerVisited")
    assert await complaints.refused(f"dealer.in.{A}.CustomerVisited")
    assert not await complaints.refused(f"retention.{A}.c-1.ComplaintEscalated")
    assert await complaints.refused(f"retention.{A}.c-1.CustomerVisited")
    assert await complaints.refused("dlq.intake.bad_json")
    assert await complaints.refused("$JS.API.STREAM.DELETE.RETENTION")


async def test_services_run_end_to_end_under_their_own_users(
    tmp_path: Path, secured: NatsServer, creds: Credentials, connect: Any
) -> None:
    admin = await connect(ADMIN)
    js = admin.nc.jetstream()
    await ensure_streams(js)
    running = []
    for name in SERVICES:
        user = service_user(name)
        settings = LaokeSettings(
            data_dir=tmp_path / "data",
            nats_url=secured.url,
            nats_user=user,
            nats_password=creds.password(user),
            auth="off",
        )
        assert nats_options(settings)["inbox_prefix"] == f"_INBOX.{user}"
        service = entry(name).build(settings, SystemClock())
        await service.start()
        running.append(service)
    try:
        dealer = await connect(dealer_user(A))
        filed = sample_inbound("ComplaintFiled", dealership_id=A)
        ack = await dealer.nc.jetstream().publish(
            f"dealer.in.{A}.ComplaintFiled", json.dumps(filed).encode()
        )
        assert ack.stream == "DEALER_IN"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while (await js.stream_info("RETENTION")).state.messages < 1:
            assert loop.time() < deadline, "intake recorded nothing"
            await asyncio.sleep(0.05)
        recorded = await js.get_msg("RETENTION", 1)
        assert recorded.subject.startswith(f"retention.{A}.")
        assert recorded.subject.endswith(".ComplaintFiled")
    finally:
        for service in reversed(running):
            await service.stop()
