"""The dead-letter list's answers (GET /v1/dead-letters)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.projections.models import Public


class RedrivePublic(Public):
    at: datetime = Field(description="When ops re-drove the letter.")
    by: str = Field(description="Who re-drove it (`laoke dlq redrive --by`).")
    attempt: int = Field(description="The try this re-drive was: 2 for the first re-drive.")
    body: Literal["original", "corrected"] = Field(
        description="The original bytes, or a corrected body (its SHA-256 in `sha256`)."
    )
    sha256: str
    event_id: str | None = Field(description="The event id the re-driven body names.")
    redriven_as: str = Field(description="The message it became: `DEALER_IN:<sequence>`.")
    failed_as: int | None = Field(
        description="The letter it became when intake refused it again; null when it was not "
        "refused (recorded, or a duplicate of an event recorded before)."
    )


class DeadLetterPublic(Public):
    seq: int = Field(description="The letter's id: its sequence on RETENTION_DLQ.")
    dealership_id: str | None
    at: datetime = Field(description="When it was refused (stored on RETENTION_DLQ).")
    service: str = Field(description="Who refused it (`intake` for inbound events).")
    reason: str
    error: str = Field(description="What is wrong, naming the field.")
    via: Literal["nats", "http"]
    subject: str | None = Field(description="The subject it came on (null over HTTP).")
    origin: str = Field(description="`DEALER_IN:<seq>` or `http:<request>:<index>`.")
    event_id: str | None = Field(description="The event id the body names, if it reads.")
    event_type: str | None = Field(description="The event type the body names, if it reads.")
    body: str | None = Field(description="The original body as sent (null if not UTF-8).")
    body_base64: str | None = Field(description="The original bytes, when not UTF-8.")
    headers: dict[str, str] = Field(description="The message's own headers.")
    attempt: int = Field(description="1 for a first refusal; n for a re-drive's n-th try.")
    redrive_of: int | None = Field(description="The letter whose re-drive this one is.")
    redrives: list[RedrivePublic] = Field(description="Each re-drive of this letter, in order.")


class DeadLetterListPublic(Public):
    dealership_id: str
    as_of: datetime
    count: int = Field(description="Letters on this page.")
    items: list[DeadLetterPublic] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null when this page is the last."
    )
