"""Fixes for faststream 0.7's NATS subscribers, applied once by `laoke.service` at import.

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
from typing import Any

from faststream.message import utils as message_utils
from faststream.nats import parser
from faststream.nats.subscriber.usecases import stream_pull_subscriber


def catch_builtin_fetch_timeouts() -> None:
    if getattr(stream_pull_subscriber, "TimeoutError", None) is not builtins.TimeoutError:
        stream_pull_subscriber.TimeoutError = builtins.TimeoutError  # type: ignore[assignment,misc]


def _decode_or_keep_bytes(message: Any) -> Any:
    try:
        return message_utils.decode_message(message)
    except Exception:  # RecursionError, or bad JSON/UTF-8 under a content-type header
        return getattr(message, "body", message)


def tolerate_undecodable_bodies() -> None:
    """Before calling a handler, faststream JSON-decodes every message body, whatever the
    handler takes (ours take the raw messages and parse them themselves). It suppresses
    only `JSONDecodeError`/`UnicodeDecodeError` without a content-type header, so a body
    nested ~1000 deep (`RecursionError`), or bad JSON sent with `content-type:
    application/json`, failed the whole batch before our code saw it: never acked,
    redelivered forever, the consumer stalled. Undecodable bodies are now passed as bytes;
    the services' own parsers dead-letter them.
    """
    if parser.decode_message is not _decode_or_keep_bytes:
        parser.decode_message = _decode_or_keep_bytes
