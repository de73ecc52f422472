"""Pipelined JetStream publishing: send in order, then await all acks together."""

from __future__ import annotations

import asyncio
import itertools
import json
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import ConnectionReconnectingError
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

RECHECK_S = 0.25  # how often a wait for acks looks whether the connection was re-established


@dataclass(frozen=True)
class Outgoing:
    subject: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class _Acks:
    """One reply subscription per connection; each publish waits on its own token.

    nats-py's `publish_async` does the same, plus a semaphore acquired under
    `asyncio.wait_for` for every message: 40% of the CPU of publishing a batch. Our batches
    are bounded by their callers, so they need no such limit. (It keeps no reference to
    the connection, so the connection's entry in `_ACKS` goes with it.)"""

    def __init__(self, nc: NatsClient) -> None:
        self.prefix = f"{nc.new_inbox()}."
        self.tokens = itertools.count()
        self.waiting: dict[str, asyncio.Future[PubAck]] = {}
        self.ready: asyncio.Task[object] | None = None

    async def subscribe(self, nc: NatsClient) -> None:
        if self.ready is None:
            self.ready = asyncio.ensure_future(nc.subscribe(f"{self.prefix}*", cb=self.on_reply))
        try:
            await self.ready
        except BaseException:
            self.ready = None  # try again with the next batch
            raise

    async def on_reply(self, msg: Msg) -> None:
        future = self.waiting.pop(msg.subject[len(self.prefix) :], None)
        if future is None or future.done():
            return
        if msg.headers and msg.headers.get("Status") == "503":  # no stream for the subject
            future.set_exception(NoStreamResponseError())
            return
        response = json.loads(msg.data)
        if "error" in response:
            future.set_exception(APIError.from_error(response["error"]))
        else:
            future.set_result(
                PubAck(
                    stream=response["stream"],
                    seq=response["seq"],
                    duplicate=response.get("duplicate"),
                )
            )

    async def publish(
        self, nc: NatsClient, message: Outgoing, token: str
    ) -> asyncio.Future[PubAck]:
        future: asyncio.Future[PubAck] = asyncio.get_running_loop().create_future()
        self.waiting[token] = future
        await nc.publish(
            message.subject,
            message.body,
            reply=self.prefix + token,
            headers=dict(message.headers) or None,
        )
        return future

    def forget(self, tokens: Sequence[str]) -> None:
        """After a failure or a timeout: late replies are ignored, nothing left waiting."""
        for token in tokens:
            future = self.waiting.pop(token, None)
            if future is not None:
                future.cancel()


_ACKS: weakref.WeakKeyDictionary[NatsClient, _Acks] = weakref.WeakKeyDictionary()


async def publish_all(
    nc: NatsClient, messages: Sequence[Outgoing], timeout: float = 10.0
) -> list[PubAck]:
    """Publish every message (in order on the wire) and wait until each is stored.

    Raises if any publish was not acknowledged: the caller retries the whole lot, and
    JetStream's dedupe (Nats-Msg-Id) drops the ones that did get through.
    """
    acks = _ACKS.get(nc)
    if acks is None:
        acks = _ACKS[nc] = _Acks(nc)
    await acks.subscribe(nc)
    tokens = [str(next(acks.tokens)) for _ in messages]
    reconnects = nc.stats["reconnects"]
    try:
        futures = [await acks.publish(nc, m, t) for m, t in zip(messages, tokens, strict=True)]
        await _stored(nc, futures, reconnects, timeout)
    finally:
        acks.forget(tokens)
    return [future.result() for future in futures]  # raises the first failure


async def _stored(
    nc: NatsClient, futures: Sequence[asyncio.Future[PubAck]], reconnects: int, timeout: float
) -> None:
    """Wait until every publish is answered. A connection re-established meanwhile ends the
    wait at once: the replies to what the old connection carried are lost with it, and
    waiting out `timeout` for them held a relay's decisions back for its whole length after
    every NATS restart."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pending: set[asyncio.Future[PubAck]] = set(futures)
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"{len(pending)} of {len(futures)} publishes not acknowledged")
        if nc.stats["reconnects"] != reconnects:
            raise ConnectionReconnectingError()
        _, pending = await asyncio.wait(pending, timeout=min(left, RECHECK_S))
