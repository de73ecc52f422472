"""Exactly once across JetStream's dedupe window, restarts and SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from intake_support import inbound, publish, read_stream, stream_count, wait_count
from nats.js import JetStreamContext
from waiting import wait_for

from laoke.clock import SystemClock
from laoke.natsserver import NatsServer
from laoke.settings import LaokeSettings
from laoke.streams import ensure_streams
from services.intake.service import IntakeService


async def test_a_resend_after_the_dedupe_window_and_a_restart_is_still_one_event(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    # A short JetStream dedupe window, so only intake's own store can catch the resend.
    short = settings.model_copy(update={"retention_dedupe_window_s": 0.2})
    await ensure_streams(js, retention_dedupe_s=0.2)
    event = inbound("CustomerVisited")
    intake = IntakeService(short, SystemClock())
    await intake.start()
    await publish(js, event)
    await wait_count(js, "RETENTION", 1)
    await intake.stop()

    # JetStream's window is wall-clock time on the server: let it pass (no clock to move).
    await asyncio.sleep(0.5)
    intake = IntakeService(short, SystemClock())
    await intake.start()
    try:
        await publish(js, event)
        marker = inbound("CustomerVisited")
        await publish(js, marker)
        await wait_count(js, "RETENTION", 2)
        ids = [m.json()["event_id"] for m in await read_stream(js, "RETENTION")]
        assert ids == [event["event_id"], marker["event_id"]]
    finally:
        await intake.stop()


def _start_intake_process(settings: LaokeSettings, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "LAOKE_NATS_URL": settings.nats_url or "",
        "LAOKE_DATA_DIR": str(settings.data_dir),
        "LAOKE_INTAKE_BATCH_SIZE": "50",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "laoke", "serve", "intake", "--no-http"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def test_killing_intake_mid_stream_loses_nothing_and_doubles_nothing(
    settings: LaokeSettings, js: JetStreamContext, nats_server: NatsServer, tmp_path: Path
) -> None:
    total = 3000
    events = [
        inbound("CustomerVisited", customer={"phone": f"1380013{i:04d}"}) for i in range(total)
    ]
    log = tmp_path / "intake.log"
    process = _start_intake_process(settings, log)
    kills = 0
    try:
        for start in range(0, total, 500):
            for event in events[start : start + 500]:
                await publish(js, event)
            # Kill while it is busy: as soon as some of this slice is recorded.
            recorded_before = await stream_count(js, "RETENTION")

            async def progressed(before: int = recorded_before) -> bool:
                return await stream_count(js, "RETENTION") > before

            await wait_for(progressed, 60, "intake to make progress")
            if kills < 3:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                process = _start_intake_process(settings, log)
        await wait_count(js, "RETENTION", total, timeout=120)
    finally:
        process.terminate()
        process.wait(10)

    recorded = await read_stream(js, "RETENTION")
    ids = [m.json()["event_id"] for m in recorded]
    assert kills == 3
    assert len(ids) == total, "nothing doubled"
    assert set(ids) == {e["event_id"] for e in events}, "nothing lost"
    assert await stream_count(js, "RETENTION_DLQ") == 0
