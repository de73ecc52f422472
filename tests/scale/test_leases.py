"""Partition leases (laoke/leases.py) on a real nats-server: one replica per partition."""

from __future__ import annotations

import asyncio

import pytest
from nats.js import JetStreamContext
from waiting import wait_for

from laoke import leases
from laoke.clock import SystemClock
from laoke.leases import Lease, PartitionTaken
from laoke.settings import LaokeSettings
from laoke.streams import LEASES, lease_bucket
from services.projections.service import ProjectionsService


async def test_a_lease_held_by_a_live_replica_is_refused_and_free_once_released(
    js: JetStreamContext,
) -> None:
    kv = await lease_bucket(js)
    first = Lease(kv, "intake-p0", owner="replica-a")
    await first.acquire()
    second = Lease(kv, "intake-p0", owner="replica-b")
    with pytest.raises(PartitionTaken, match="replica-a"):
        await second.acquire(wait_s=0.3)
    await first.release()
    await second.acquire(wait_s=0)
    assert await second.holder() == "replica-b"


async def test_a_crashed_replicas_lease_expires_and_the_next_one_takes_it(
    js: JetStreamContext,
) -> None:
    await js.delete_key_value(LEASES)  # made by the fixture with the real 10 s TTL
    kv = await lease_bucket(js, ttl_s=1.0)
    await Lease(kv, "projections-p1", owner="crashed").acquire()  # never refreshed
    successor = Lease(kv, "projections-p1", owner="successor")
    await successor.acquire(wait_s=5.0)
    assert await successor.holder() == "successor"


async def test_a_replica_whose_lease_was_taken_is_told_to_stop(js: JetStreamContext) -> None:
    kv = await lease_bucket(js)
    paused = Lease(kv, "complaints-p0", owner="paused", refresh_s=0.05)
    await paused.acquire()
    await kv.delete("complaints-p0")  # as if its TTL ran out while it was paused
    await Lease(kv, "complaints-p0", owner="other").acquire(wait_s=0)
    stopping = asyncio.Event()
    keeper = asyncio.create_task(paused.keep(stopping))
    await wait_for(stopping.is_set, 5, what="the paused replica told to stop")
    await keeper


async def test_a_second_replica_of_the_same_partition_does_not_start(
    settings: LaokeSettings, js: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leases, "START_WAIT_S", 0.5)  # not the 11 s a crashed owner gets
    partition_0 = settings.model_copy(update={"partitions": 2, "partitions_owned": [0]})
    running = ProjectionsService(partition_0, SystemClock())
    await running.start()
    try:
        second = ProjectionsService(
            partition_0.model_copy(update={"data_dir": settings.data_dir / "elsewhere"}),
            SystemClock(),
        )
        with pytest.raises(PartitionTaken, match="projections-p0 is run by another replica"):
            await second.start()
        await second.stop()
    finally:
        await running.stop()
