"""A fix for faststream 0.7's NATS pull loop, applied once by `laoke.service` at import.

faststream's batch pull loop (`stream_pull_subscriber._consume_pull`) catches only
`nats.errors.TimeoutError` around `fetch()`, but nats-py (2.16) also raises the plain
`asyncio.TimeoutError` (= builtin `TimeoutError`), e.g. when the batch deadline runs out
between two fetches. The loop task then dies and the messages it had already fetched in
that round are dropped unacked: they come back only after `ack_wait` (60-120 s), so a
consumer stalls at random. Catching the builtin (which nats' TimeoutError subclasses)
restores the intended "timeout ends the batch" behaviour.
"""

from __future__ import annotations

import builtins

from faststream.nats.subscriber.usecases import stream_pull_subscriber


def catch_builtin_fetch_timeouts() -> None:
    if getattr(stream_pull_subscriber, "TimeoutError", None) is not builtins.TimeoutError:
        stream_pull_subscriber.TimeoutError = builtins.TimeoutError  # type: ignore[assignment,misc]
