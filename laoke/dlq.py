"""Dead letters: the original bytes and headers, with the reason and the error."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from nats.aio.client import Client as NatsClient

from events import dlq_subject
from laoke.metrics import DEAD_LETTERS
from laoke.publishing import Outgoing, publish_all

log = logging.getLogger(__name__)
MAX_ERROR_HEADER = 1000


def _header_safe(text: str) -> str:
    return " ".join(text.split())[:MAX_ERROR_HEADER]


def dead_letter(
    service: str,
    reason: str,
    error: str,
    data: bytes,
    headers: Mapping[str, str] | None,
    *,
    origin: str,
    subject: str | None = None,
) -> Outgoing:
    """Build the DLQ message. `origin` identifies the input uniquely (e.g. 'DEALER_IN:42')
    and becomes its Nats-Msg-Id, so a redelivered bad message is dead-lettered once."""
    kept = {
        (f"Laoke-Original-{k}" if k.lower().startswith("nats-") else k): v
        for k, v in (headers or {}).items()
    }
    kept |= {
        "Nats-Msg-Id": f"dlq:{service}:{origin}",
        "Laoke-Service": service,
        "Laoke-Reason": reason,
        "Laoke-Error": _header_safe(error),
        "Laoke-Origin": origin,
    }
    if subject is not None:
        kept["Laoke-Original-Subject"] = _header_safe(subject)
    log.info("%s dead-letters %s (%s): %s", service, origin, reason, _header_safe(error)[:200])
    return Outgoing(dlq_subject(service, reason), data, kept)


async def send_dead_letters(nc: NatsClient, letters: list[Outgoing]) -> None:
    if not letters:
        return
    await publish_all(nc, letters)
    for letter in letters:
        DEAD_LETTERS.labels(letter.headers["Laoke-Service"], letter.headers["Laoke-Reason"]).inc()
