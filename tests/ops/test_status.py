"""`laoke status` against a real nats-server: stream sizes, each durable consumer's lag,
dead letters by reason, and who holds each partition lease; on screen and as JSON."""

from __future__ import annotations

import io
import json
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from events import dlq_subject
from laoke.dlq import REDRIVES
from laoke.leases import Lease
from laoke.settings import LaokeSettings
from laoke.status import main
from laoke.streams import DEALER_IN, RETENTION, RETENTION_DLQ, lease_bucket

LETTERS = {("intake", "bad_json"): 3, ("intake", "invalid"): 2, ("projections", "failed"): 1}


async def fill(js: JetStreamContext) -> None:
    """Five messages on RETENTION, a consumer that took two, dead letters, one lease."""
    for n in range(5):
        await js.publish(f"retention.d-1.c-{n}.CustomerVisited", b"{}")
    await js.add_consumer(
        RETENTION,
        ConsumerConfig(durable_name="complaints", ack_policy=AckPolicy.EXPLICIT),
    )
    pull = await js.pull_subscribe_bind("complaints", stream=RETENTION)
    taken = await pull.fetch(2, timeout=5)
    await taken[0].ack()  # the other stays delivered and unacked
    for (service, reason), count in LETTERS.items():
        for n in range(count):
            await js.publish(dlq_subject(service, reason), b"x", headers={"n": str(n)})
    await js.publish(REDRIVES, b"{}")  # ops' record of a re-drive: not a dead letter
    await Lease(await lease_bucket(js), "projections-p1", owner="host-a:42").acquire()


def run_status(settings: LaokeSettings, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(settings, list(argv), out), out.getvalue()


async def test_status_as_json_counts_streams_lag_dead_letters_and_leases(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    await fill(js)
    code, out = await _in_thread(run_status, settings, "--json")
    assert code == 0
    found: dict[str, Any] = json.loads(out)
    streams = {s["name"]: s for s in found["streams"]}
    assert set(streams) == {DEALER_IN, RETENTION, RETENTION_DLQ}
    assert streams[RETENTION]["messages"] == 5
    assert streams[RETENTION]["bytes"] > 0
    assert streams[RETENTION_DLQ]["messages"] == sum(LETTERS.values()) + 1  # the record
    consumer = next(c for c in found["consumers"] if c["name"] == "complaints")
    assert (consumer["stream"], consumer["lag"], consumer["ack_pending"]) == (RETENTION, 3, 1)
    letters = {(d["service"], d["reason"]): d["count"] for d in found["dead_letters"]}
    assert letters == LETTERS
    [lease] = found["leases"]
    assert (lease["partition"], lease["holder"]) == ("projections-p1", "host-a:42")
    assert 0 <= lease["age_s"] < 10


async def test_status_on_screen_names_the_same_figures(
    settings: LaokeSettings, js: JetStreamContext
) -> None:
    await fill(js)
    code, out = await _in_thread(run_status, settings)
    assert code == 0
    lines = out.splitlines()
    assert any(RETENTION in line and " 5 " in f"{line} " for line in lines)
    assert any("complaints" in line and "3" in line for line in lines)
    for (service, reason), count in LETTERS.items():
        assert any(service in ln and reason in ln and str(count) in ln for ln in lines), reason
    assert any("projections-p1" in line and "host-a:42" in line for line in lines)


async def test_status_says_when_nats_cannot_be_read(settings: LaokeSettings) -> None:
    unreachable = settings.model_copy(update={"nats_url": "nats://127.0.0.1:1"})
    code, out = await _in_thread(run_status, unreachable)
    assert code == 2
    assert out == ""


async def _in_thread(fn: Any, *args: Any) -> Any:
    """The command runs its own event loop (asyncio.run), as from the shell."""
    import asyncio

    return await asyncio.to_thread(fn, *args)
