"""Publishes a service's recorded decisions from its outbox to RETENTION, in order, their
personal fields sealed with their customer's key (laoke/sealing.py).

The relay's position is a tracking record in the service's own store, advanced only after
JetStream acknowledged the batch, in the transaction that empties the published rows (their
personal data was in the clear). A crash in between republishes the batch under the same
Nats-Msg-Id, which JetStream's dedupe window drops.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client as NatsClient

from laoke.eventstore import ServiceApplication
from laoke.keyring import Keyring
from laoke.publishing import publish_all
from laoke.recorders import OUTBOX_TRACKING
from laoke.sealing import seal_all
from laoke.threads import in_thread

log = logging.getLogger(__name__)


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
            after = self.app.tracked_position(OUTBOX_TRACKING)
            rows = await in_thread(self.app.outbox_after, after, self.batch)
            if not rows:
                return sent
            outgoing = [message for _, message in rows]
            await publish_all(self.nc, await seal_all(self.keyring, outgoing))
            await in_thread(self.app.mark_relayed, after, rows[-1][0])
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
