"""`laoke run` in the test's event loop: embedded NATS with users, every service, the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from ops_helpers import embedded_settings
from waiting import wait_for

from laoke.cli import run
from laoke.settings import LaokeSettings


@pytest.fixture
async def laoke_running(tmp_path: Path) -> AsyncIterator[LaokeSettings]:
    settings = embedded_settings(tmp_path)
    stopping = asyncio.Event()
    task = asyncio.create_task(run(settings, stopping=stopping))

    async def healthy() -> bool:
        assert not task.done(), task
        try:
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"http://127.0.0.1:{settings.http_port}/healthz")
                return answer.status_code == 200
        except httpx.HTTPError:
            return False

    await wait_for(healthy, 60, "laoke run")
    yield settings
    stopping.set()
    await task
