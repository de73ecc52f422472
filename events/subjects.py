"""NATS subject names: build and parse them in one place.

- inbound:  `dealer.in.<dealership_id>.<EventType>`
- recorded: `retention.<dealership_id>.<customer_id>.<EventType>`
- dead letters: `dlq.<service>.<reason>`
"""

from __future__ import annotations

import re
from typing import NamedTuple

from events.fields import CUSTOMER_ID_PATTERN, DEALERSHIP_ID_PATTERN, EVENT_TYPE_PATTERN

DEALER_IN_SUBJECTS = "dealer.in.>"
RETENTION_SUBJECTS = "retention.>"
DLQ_SUBJECTS = "dlq.>"
MAX_MESSAGE_BYTES = 64 * 1024

_DEALERSHIP = re.compile(DEALERSHIP_ID_PATTERN)
_CUSTOMER = re.compile(CUSTOMER_ID_PATTERN)
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)
_SLUG = re.compile(r"^[a-z0-9_-]{1,64}$")


class SubjectError(ValueError):
    """A subject that is not one of ours, or a token that cannot go into one."""


class InboundSubject(NamedTuple):
    dealership_id: str
    event_type: str


class RetentionSubject(NamedTuple):
    dealership_id: str
    customer_id: str
    event_type: str


class DlqSubject(NamedTuple):
    service: str
    reason: str


def _check(kind: str, token: str, pattern: re.Pattern[str]) -> str:
    # fullmatch: `$` would also accept a trailing newline.
    if not isinstance(token, str) or not pattern.fullmatch(token):
        raise SubjectError(f"{kind} {token!r} does not match {pattern.pattern}")
    return token


def inbound_subject(dealership_id: str, event_type: str) -> str:
    _check("dealership_id", dealership_id, _DEALERSHIP)
    _check("event_type", event_type, _EVENT_TYPE)
    return f"dealer.in.{dealership_id}.{event_type}"


def parse_inbound_subject(subject: str) -> InboundSubject:
    parts = subject.split(".") if isinstance(subject, str) else []
    if len(parts) != 4 or parts[0] != "dealer" or parts[1] != "in":
        raise SubjectError(f"{subject!r} is not dealer.in.<dealership_id>.<EventType>")
    return InboundSubject(
        _check("dealership_id", parts[2], _DEALERSHIP), _check("event_type", parts[3], _EVENT_TYPE)
    )


def retention_subject(dealership_id: str, customer_id: str, event_type: str) -> str:
    _check("dealership_id", dealership_id, _DEALERSHIP)
    _check("customer_id", customer_id, _CUSTOMER)
    _check("event_type", event_type, _EVENT_TYPE)
    return f"retention.{dealership_id}.{customer_id}.{event_type}"


def parse_retention_subject(subject: str) -> RetentionSubject:
    parts = subject.split(".") if isinstance(subject, str) else []
    if len(parts) != 4 or parts[0] != "retention":
        raise SubjectError(
            f"{subject!r} is not retention.<dealership_id>.<customer_id>.<EventType>"
        )
    return RetentionSubject(
        _check("dealership_id", parts[1], _DEALERSHIP),
        _check("customer_id", parts[2], _CUSTOMER),
        _check("event_type", parts[3], _EVENT_TYPE),
    )


def dlq_subject(service: str, reason: str) -> str:
    _check("service", service, _SLUG)
    _check("reason", reason, _SLUG)
    return f"dlq.{service}.{reason}"


def parse_dlq_subject(subject: str) -> DlqSubject:
    parts = subject.split(".") if isinstance(subject, str) else []
    if len(parts) != 3 or parts[0] != "dlq":
        raise SubjectError(f"{subject!r} is not dlq.<service>.<reason>")
    return DlqSubject(_check("service", parts[1], _SLUG), _check("reason", parts[2], _SLUG))
