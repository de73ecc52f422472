"""Publishing through a NATS restart: the wait for acks ends with the old connection.

A relay that published a batch just before nats-server died waited its whole timeout
(10 s) for acks that died with the connection, holding its decisions back that long.
"""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.aio.msg import Msg
from nats.errors import ConnectionReconnectingError

from laoke.natsserver import NatsServer
from laoke.publishing import Outgoing, publish_all


async def test_a_wait_for_acks_ends_when_the_connection_is_re_established(
    running_nats: NatsServer,
) -> None:
    nc = await nats.connect(running_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    listener = await nats.connect(running_nats.url)
    try:
        swallowed: asyncio.Queue[bytes] = asyncio.Queue()

        async def swallow(msg: Msg) -> None:  # a listener that never answers
            swallowed.put_nowait(msg.data)

        await listener.subscribe("lost.acks", cb=swallow)
        # Its own message back proves the server holds the subscription. (`flush()` does
        # not: nats-py writes its PING ahead of the buffered SUB, and a publish that beat
        # the SUB was answered "no responders" on a loaded machine.)
        await listener.publish("lost.acks", b"probe")
        assert await swallowed.get() == b"probe"
        waiting = asyncio.ensure_future(
            publish_all(nc, [Outgoing("lost.acks", b"{}")], timeout=600.0)
        )
        assert await swallowed.get() == b"{}"  # published: only its ack is outstanding now
        running_nats.kill()
        running_nats.start()
        with pytest.raises(ConnectionReconnectingError):
            await waiting  # not a TimeoutError after 600 s
        assert nc.is_connected
    finally:
        await listener.close()
        await nc.close()


async def test_acks_that_arrive_are_returned_in_order(running_nats: NatsServer) -> None:
    nc = await nats.connect(running_nats.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="ACKS", subjects=["acks.>"])
        messages = [Outgoing(f"acks.{n}", b"{}") for n in range(50)]
        acks = await publish_all(nc, messages)
        assert [a.seq for a in acks] == list(range(1, 51))
    finally:
        await nc.close()
