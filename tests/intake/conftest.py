"""Intake running in-process against the test's nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext

from laoke.clock import SystemClock
from laoke.settings import LaokeSettings
from services.intake.service import IntakeService


@pytest.fixture
async def intake(settings: LaokeSettings, js: JetStreamContext) -> AsyncIterator[IntakeService]:
    service = IntakeService(settings, SystemClock())
    await service.start()
    yield service
    await service.stop()
