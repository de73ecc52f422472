from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from deadletters_support import Rig
from nats.js import JetStreamContext

from laoke.settings import LaokeSettings


@pytest.fixture
async def rig(settings: LaokeSettings, js: JetStreamContext) -> AsyncIterator[Rig]:
    running = Rig(settings, js)
    await running.start()
    yield running
    await running.stop()
