from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from projections_helpers import Rig

from laoke.clock import ManualClock
from laoke.settings import LaokeSettings


@pytest.fixture
async def rig(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> AsyncIterator[Rig]:
    running = Rig(settings, clock, js)
    await running.start()
    yield running
    await running.stop()
