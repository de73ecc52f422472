"""Dead letters: the original bytes and headers, with the reason, the error and the
dealership they were sent for (docs/contract.md §3)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Literal

from nats.aio.client import Client as NatsClient
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events import dlq_subject
from events.fields import DEALERSHIP_ID_PATTERN
from laoke.metrics import DEAD_LETTERS
from laoke.publishing import Outgoing, publish_all

log = logging.getLogger(__name__)
MAX_ERROR_HEADER = 1000
DEALERSHIP = "Laoke-Dealership"
_DEALERSHIP_ID = re.compile(DEALERSHIP_ID_PATTERN)


def _header_safe(text: str) -> str:
    return " ".join(text.split())[:MAX_ERROR_HEADER]


def subject_dealership(subject: str | None, token: int) -> str | None:
    """The dealership a subject names at `token` (`dealer.in.<d>.…`: 2, `retention.<d>.…`: 1),
    when it is a dealership id. On NATS a dealership may publish only under its own token
    (laoke/natsauth.py), so the subject says whose a message is even when nothing else of it
    can be read."""
    tokens = (subject or "").split(".")
    found = tokens[token] if len(tokens) > token else ""
    return found if _DEALERSHIP_ID.fullmatch(found) else None


def dead_letter(
    service: str,
    reason: str,
    error: str,
    data: bytes,
    headers: Mapping[str, str] | None,
    *,
    origin: str,
    subject: str | None = None,
    dealership: str | None = None,
) -> Outgoing:
    """Build the DLQ message. `origin` identifies the input uniquely (e.g. 'DEALER_IN:42')
    and becomes its Nats-Msg-Id, so a redelivered bad message is dead-lettered once.
    `dealership`: whose letter it is (listed under it: GET /v1/dead-letters); a sender's own
    `Laoke-Dealership` header never stands in for it."""
    kept = {
        (f"Laoke-Original-{k}" if k.lower().startswith("nats-") else k): v
        for k, v in (headers or {}).items()
        if k.lower() != DEALERSHIP.lower()
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
    if dealership is not None:
        kept[DEALERSHIP] = dealership
    log.info("%s dead-letters %s (%s): %s", service, origin, reason, _header_safe(error)[:200])
    return Outgoing(dlq_subject(service, reason), data, kept)


async def send_dead_letters(nc: NatsClient, letters: list[Outgoing]) -> None:
    if not letters:
        return
    await publish_all(nc, letters)
    for letter in letters:
        DEAD_LETTERS.labels(letter.headers["Laoke-Service"], letter.headers["Laoke-Reason"]).inc()


# -- re-drives (`laoke dlq redrive`) ------------------------------------------------------------
# A re-driven letter goes back to DEALER_IN with these headers beside the sender's own; a
# letter it becomes when refused again keeps them (a dead letter keeps its input's headers).
REDRIVE_OF = "Laoke-Redrive-Of"  # the letter's RETENTION_DLQ sequence
REDRIVEN_BY = "Laoke-Redriven-By"
REDRIVEN_AT = "Laoke-Redriven-At"
ATTEMPT = "Laoke-Attempt"  # 2 for the first re-drive of a first refusal, and so on
# What dead-lettering adds to a message (the rest of a letter's headers are its input's).
LETTER_HEADERS = frozenset(
    {
        "Nats-Msg-Id",
        "Laoke-Service",
        "Laoke-Reason",
        "Laoke-Error",
        "Laoke-Origin",
        "Laoke-Original-Subject",
        DEALERSHIP,
    }
)
# Ops' record of each re-drive, on RETENTION_DLQ beside the letters: only the admin user
# may publish there (no service is called `ops`, laoke/natsauth.py), so unlike a header of a
# message on DEALER_IN, which any sender could write, it can be trusted.
REDRIVES = "dlq.ops.redriven"


class Redrive(BaseModel):
    """Ops re-drove a dead letter: the body of a `dlq.ops.redriven` message."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    letter: int = Field(description="The letter's RETENTION_DLQ sequence.")
    dealership_id: str | None
    redriven_as: str = Field(description="Where the re-driven message went: DEALER_IN:<seq>.")
    subject: str
    by: str
    at: AwareDatetime
    attempt: int = Field(ge=2)
    body: Literal["original", "corrected"]
    sha256: str
    event_id: str | None = None
    corrected_body_base64: str | None = None

    def message(self, note_id: str) -> Outgoing:
        headers = {"Nats-Msg-Id": f"redrive:{note_id}", REDRIVE_OF: str(self.letter)}
        if self.dealership_id is not None:
            headers[DEALERSHIP] = self.dealership_id
        return Outgoing(REDRIVES, self.model_dump_json().encode(), headers)
