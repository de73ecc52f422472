"""Publishes a service's recorded decisions from its outbox to RETENTION, in order, their
personal fields sealed with their customer's key (laoke/sealing.py).

The relay's position is a tracking record in the service's own store, advanced only after
JetStream acknowledged the batch. A crash in between republishes the batch under the same
Nats-Msg-Id, which JetStream's dedupe window drops.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from eventsourcing.persistence import Tracking
from nats.aio.client import Client as NatsClient

from laoke.eventstore import OUTBOX_TOPIC, OutboxEntry, ServiceApplication
from laoke.keyring import Keyring
from laoke.publishing import publish_all
from laoke.sealing import seal_all

log = logging.getLogger(__name__)
RELAY = "outbox-relay"


def recorded_entry(created: Any) -> OutboxEntry:
    entry = created.mutate(None)
    assert isinstance(entry, OutboxEntry)
    return entry


class OutboxRelay:
    def __init__(
        self, app: ServiceApplication, nc: NatsClient, keyring: Keyring, batch: int = 500
    ) -> None:
        self.app = app
        self.nc = nc
        self.keyring = keyring  # seals each event's personal fields (laoke/sealing.py)
        self.batch = batch
        self.kicked = asyncio.Event()
        self._draining = asyncio.Lock()  # one drain at a time keeps the position monotonic

    def kick(self) -> None:
        self.kicked.set()

    async def drain(self) -> int:
        """Publish everything not yet published; returns how many were sent."""
        async with self._draining:
            return await self._drain()

    async def _drain(self) -> int:
        sent = 0
        while True:
            start = self.app.tracked_position(RELAY) + 1
            notifications = await asyncio.to_thread(
                self.app.recorder.select_notifications,
                start,
                self.batch,
                topics=[OUTBOX_TOPIC],
            )
            if not notifications:
                return sent
            outgoing = [
                recorded_entry(self.app.mapper.to_domain_event(n)).outgoing() for n in notifications
            ]
            await publish_all(self.nc, await seal_all(self.keyring, outgoing))
            last = notifications[-1].id
            await asyncio.to_thread(self.app.tracker.insert_tracking, Tracking(RELAY, last))
            sent += len(outgoing)

    async def run(self, stopping: asyncio.Event, idle_s: float = 1.0) -> None:
        while not stopping.is_set():
            self.kicked.clear()
            try:
                await self.drain()
            except Exception:  # NATS down or slow: keep the entries, try again
                log.exception("outbox relay failed; retrying")
            try:
                await asyncio.wait_for(self.kicked.wait(), idle_s)
            except TimeoutError:
                pass
