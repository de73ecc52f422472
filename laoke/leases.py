"""Partition leases: proof that one process alone runs a partition of a service.

Two replicas running the same partition would share its durable consumer and its store,
and could record or apply a customer's events out of order. So before a partition starts
consuming, its process creates the key `<durable>` in the JetStream key-value bucket
`laoke_leases` (laoke/streams.py) and rewrites it every `REFRESH_S`; the bucket forgets a
key `TTL_S` after its last write. A key that is there belongs to a live replica, or to one
that crashed less than `TTL_S` ago: the start waits that long for it to go, then refuses
with a clear error.

Used when LAOKE_PARTITIONS > 1 (laoke/partitions.py). Unpartitioned, a service restarts at
once after a crash (the fault tests rely on it), and one process per service is the rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError, NoStreamResponseError
from nats.js.kv import KeyValue

from laoke.settings import LaokeSettings
from laoke.streams import LEASE_TTL_S, lease_bucket

log = logging.getLogger(__name__)
TTL_S = LEASE_TTL_S
REFRESH_S = 2.0
START_WAIT_S = TTL_S + 1.0  # how long a start waits for a crashed owner's lease to expire


class PartitionTaken(RuntimeError):
    """Another live replica runs this partition."""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Lease:
    def __init__(
        self, kv: KeyValue, name: str, owner: str | None = None, refresh_s: float = REFRESH_S
    ) -> None:
        self.kv = kv
        self.name = name
        self.owner = owner or owner_id()
        self.refresh_s = refresh_s
        self.revision: int | None = None

    async def acquire(self, wait_s: float | None = None, poll_s: float = 0.25) -> None:
        """Take the lease, waiting up to `wait_s` (default `START_WAIT_S`) for a crashed
        owner's lease to expire."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (START_WAIT_S if wait_s is None else wait_s)
        while True:
            try:
                self.revision = await self.kv.create(self.name, self.owner.encode())
                return
            except KeyWrongLastSequenceError:
                unanswered = False  # held: wait for it to be released or to expire
            except (NoStreamResponseError, NatsTimeoutError):
                unanswered = True  # a cluster electing a leader, for instance
                log.warning("%s: JetStream did not answer; trying again", self.name)
            if loop.time() >= deadline:
                if unanswered:
                    raise RuntimeError(f"{self.name}: JetStream did not answer the lease")
                holder = await self.holder()
                raise PartitionTaken(
                    f"{self.name} is run by another replica ({holder}); each partition in "
                    "exactly one replica (LAOKE_PARTITIONS_OWNED, docs/scale.md)"
                )
            await asyncio.sleep(poll_s)

    async def holder(self) -> str:
        with contextlib.suppress(Exception):
            entry = await self.kv.get(self.name)
            return (entry.value or b"").decode()
        return "gone"

    async def keep(self, stopping: asyncio.Event) -> None:
        """Rewrite the lease until `stopping`. If it was taken meanwhile (this process was
        paused past the TTL), set `stopping`: consumers, relays and tickers end."""
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.refresh_s)
            if stopping.is_set():
                return
            try:
                self.revision = await self.kv.update(
                    self.name, self.owner.encode(), last=self.revision
                )
            except KeyWrongLastSequenceError:
                log.critical("lost the lease of %s; stopping it", self.name)
                stopping.set()
                return
            except Exception:  # NATS unreachable for a moment: the TTL covers a few misses
                log.warning("could not refresh the lease of %s", self.name, exc_info=True)

    async def release(self) -> None:
        if self.revision is not None:
            with contextlib.suppress(Exception):
                await self.kv.delete(self.name, last=self.revision)
            self.revision = None


async def take(js: JetStreamContext, settings: LaokeSettings, name: str) -> Lease | None:
    """The lease of partition consumer `name`, when the deployment is partitioned."""
    if settings.partitions == 1:
        return None
    lease = Lease(await lease_bucket(js, settings.stream_replicas), name)
    await lease.acquire()
    log.info("%s: lease taken by %s", name, lease.owner)
    return lease
