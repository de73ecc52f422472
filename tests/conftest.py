"""Fixtures shared by the suite: a real nats-server on a free port, settings, a clock."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from hypothesis import settings as hypothesis_settings
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from laoke.clock import ManualClock
from laoke.natsserver import NatsServer
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams

FIXED_FAULT_SEED = 8
# Property tests assert behaviour, not speed: hypothesis's default 200 ms deadline per example
# failed a fuzz test on a loaded 2-core machine (DeadlineExceeded).
hypothesis_settings.register_profile("laoke", deadline=None)
hypothesis_settings.load_profile("laoke")
# One master key for the whole suite and the processes it starts (laoke/keyring.py); the
# tests of a wrong or missing key set their own.
TEST_MASTER_KEY = "bGFva2UtdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzISE="
os.environ.setdefault("LAOKE_MASTER_KEY", TEST_MASTER_KEY)


def _fault_seeds() -> str:
    """The fault suite's seeds for this run: LAOKE_FAULT_SEED alone, or seed 8 and a fresh
    one. Chosen here (the first conftest loaded) so the header can show them."""
    chosen = os.environ.get("LAOKE_FAULT_SEED")
    if chosen:
        return chosen
    fresh = random.SystemRandom().choice([s for s in range(1, 10_000) if s != FIXED_FAULT_SEED])
    return f"{FIXED_FAULT_SEED},{fresh}"


if "PYTEST_XDIST_WORKER" not in os.environ:  # the workers inherit the controller's choice
    os.environ["LAOKE_FAULT_SEEDS"] = _fault_seeds()  # read by tests/fault/conftest.py


def pytest_report_header() -> str:
    seeds = os.environ["LAOKE_FAULT_SEEDS"]
    return f"fault seeds: {seeds} (re-run one: LAOKE_FAULT_SEED=<seed>)"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def running_nats(nats_server: NatsServer) -> NatsServer:
    await nats_server.wait_ready()
    return nats_server


@pytest.fixture
def postgres_dsn() -> Iterator[str | None]:
    """With LAOKE_TEST_POSTGRES_DSN set: a fresh database for this test, dropped after."""
    admin_dsn = os.environ.get("LAOKE_TEST_POSTGRES_DSN")
    if not admin_dsn:
        yield None
        return
    from urllib.parse import urlparse

    import psycopg

    name = f"laoke_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlparse(admin_dsn)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, nats_server: NatsServer, postgres_dsn: str | None) -> LaokeSettings:
    return LaokeSettings(
        data_dir=tmp_path / "data",
        nats_url=nats_server.url,
        store="postgres" if postgres_dsn else "sqlite",
        postgres_dsn=postgres_dsn or "postgresql://unused",
        retention_dedupe_window_s=3600.0,
        auth="off",  # tests of API keys (tests/security) turn it on themselves
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 20, 10, 0, tzinfo=UTC))


@pytest.fixture
async def js(running_nats: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc: NatsClient = await nats.connect(running_nats.url)
    stream_js = nc.jetstream()
    await ensure_streams(stream_js)
    yield stream_js
    await nc.close()
