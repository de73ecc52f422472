"""The one way every service consumes a stream: pull batches, hand over an unbroken run,
ack, measure, stop cleanly.

A service supplies two things: `position()`, what its store has handled, and `apply(run)`,
which handles a run of messages continuing from there and commits its effects with the new
position in one transaction. The runner (re)creates the durable consumer at the position
+ 1, pulls, cuts each batch to the run that continues the position (laoke/durable.py), and
acks only after `apply` returned. A crash anywhere leaves the store's position true; the
next start re-reads from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from laoke.durable import DurableConsumer, stream_sequence, unbroken
from laoke.metrics import CONSUMER_LAG, HANDLED, HANDLER_SECONDS
from laoke.streams import RETENTION
from laoke.threads import in_thread

log = logging.getLogger(__name__)
RETRY_S = 0.5  # after a failed pull or batch: NATS restarting, a store busy


@dataclass
class StreamConsumer:
    """Runs one durable consumer for one store."""

    service: str
    durable: DurableConsumer
    position: Callable[[], int]  # what the store has handled (called in a worker thread)
    apply: Callable[[Sequence[Msg]], Awaitable[None]]
    batch_size: int = 200
    fetch_timeout_s: float = 1.0  # how long a pull waits for a first message
    fill_s: float = 0.05  # then how long it goes on filling the batch
    caught_up: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def run(self, js: JetStreamContext, stopping: asyncio.Event) -> None:
        """Consume until `stopping` is set; the batch in hand is finished first.

        The next batch is pulled while one is applied, so the pull's round trips to the
        server cost no idle time. A batch pulled ahead is dropped with its subscription
        (a gap, a failure, a stop): it was not acked, so it is read again from the stored
        position."""
        subscription = None
        ahead: asyncio.Future[list[Msg]] | None = None
        failing = False  # log the first failure of a run of them, not every retry
        while not stopping.is_set():
            try:
                if subscription is None:
                    await self.durable.start_at(js, await in_thread(self.position))
                    subscription = await js.pull_subscribe_bind(
                        self.durable.name, stream=self.durable.stream
                    )
                pull, ahead = ahead or asyncio.ensure_future(self._pull(subscription)), None
                try:
                    messages = await _unless_stopped(pull, stopping)
                except (NatsTimeoutError, TimeoutError):
                    self.caught_up.set()
                    continue
                if messages is None:
                    break
                ahead = asyncio.ensure_future(self._pull(subscription))
                if not await self.handle(js, messages):
                    await _cancelled(ahead)
                    ahead = None
                    await _drop(subscription)
                    subscription = None  # re-created at the stored position
                failing = False
            except Exception:
                level = logging.DEBUG if failing else logging.WARNING
                log.log(level, "%s: consuming failed; retrying", self.durable.name, exc_info=True)
                failing = True
                await _cancelled(ahead)
                ahead = None
                await _drop(subscription)
                subscription = None
                await asyncio.sleep(RETRY_S)
        await _cancelled(ahead)
        await _drop(subscription)

    async def _pull(self, subscription: JetStreamContext.PullSubscription) -> list[Msg]:
        """A batch: wait for a first message, then fill up to `batch_size` for `fill_s`.
        Waiting for a whole batch would hold messages back under a steady trickle (nats-py's
        fetch waits until the batch is full or the timeout ends); taking what a fetch
        returns would make many small batches, each a commit. faststream's pull loop, which
        consumed before, filled its batches the same way."""
        messages = await subscription.fetch(1, self.fetch_timeout_s)
        loop = asyncio.get_running_loop()
        until = loop.time() + self.fill_s
        while len(messages) < self.batch_size and (left := until - loop.time()) > 0:
            try:
                messages += await subscription.fetch(self.batch_size - len(messages), left)
            except (NatsTimeoutError, TimeoutError):
                break
        return messages

    async def handle(self, js: JetStreamContext, messages: Sequence[Msg]) -> bool:
        """Apply the batch's run from the stored position and ack it; False when the batch
        broke off at a gap (the consumer must be re-created at the stored position)."""
        started = time.perf_counter()
        position = await in_thread(self.position)
        run, broken = unbroken(messages, position, await self._hole_after(js, position, messages))
        if run:
            await self.apply(run)
        if broken:
            reached = stream_sequence(run[-1]) if run else position
            log.warning(
                "%s: a batch skipped %s:%d; re-reading from it",
                self.durable.name,
                self.durable.stream,
                reached + 1,
            )
            return False
        if messages:
            await self._ack(messages)
            pending = messages[-1].metadata.num_pending
            CONSUMER_LAG.labels(self.durable.name).set(pending)
            if pending == 0:
                self.caught_up.set()
            else:
                self.caught_up.clear()
        if self.durable.stream == RETENTION:  # the metric counts RETENTION messages only
            HANDLED.labels(self.service).inc(len(run))
        HANDLER_SECONDS.labels(self.service).observe(time.perf_counter() - started)
        return True

    async def _hole_after(
        self, js: JetStreamContext, position: int, messages: Sequence[Msg]
    ) -> bool:
        """Whether the stream no longer holds position + 1 while the batch starts past it
        (DEALER_IN forgets messages after 7 days): then there is nothing to wait for."""
        first = next((s for m in messages if (s := stream_sequence(m)) > position), None)
        if first is None or first == position + 1:
            return False
        try:
            await js.get_msg(self.durable.stream, position + 1)
        except NotFoundError:
            return True
        return False

    async def _ack(self, messages: Sequence[Msg]) -> None:
        if self.durable.ack_all:
            await messages[-1].ack()  # acks the whole batch (stream order)
        else:
            for message in messages:
                await message.ack()


async def _unless_stopped(
    pull: asyncio.Future[list[Msg]], stopping: asyncio.Event
) -> list[Msg] | None:
    """The pulled batch, or None when a stop came first: a stop need not wait out an idle
    pull's timeout. Messages pulled but not applied are not acked; the next start re-reads
    them from the stored position."""
    stop = asyncio.ensure_future(stopping.wait())
    await asyncio.wait((pull, stop), return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if pull.done():
        return pull.result()
    await _cancelled(pull)
    return None


async def _cancelled(pull: asyncio.Future[list[Msg]] | None) -> None:
    """Cancel a pull and wait for it to end, whatever it ended with."""
    if pull is not None:
        pull.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pull


async def _drop(subscription: JetStreamContext.PullSubscription | None) -> None:
    """Unsubscribe (NATS may be gone: then there is nothing left to drop)."""
    if subscription is not None:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
