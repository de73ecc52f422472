"""Outreach's in-process use cases: the service on a fresh SQLite store, without NATS. A
test module using `outreach` parks its own `clock` fixture (else the suite's applies)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from laoke.clock import ManualClock
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from services.outreach.application import Outreach
from services.outreach.settings import OutreachSettings


@pytest.fixture
def outreach(tmp_path: Path, clock: ManualClock) -> Iterator[Outreach]:
    app = ServiceApplication(LaokeSettings(data_dir=tmp_path), "outreach")
    yield Outreach(app, OutreachSettings(), clock)
    app.close()
