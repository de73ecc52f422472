"""Intake's use case: record a batch of inbound messages, each exactly once.

For each message: validate it (events.parse_inbound), drop it as a duplicate if its
`event_id` was recorded before (days later too: the outbox entry, keyed by event id, is the
receipt), resolve the customer (resolution.py), and stage the recorded event (after the
`CustomersMerged` or `VehicleOwnershipChanged` it caused; a `CustomerSplitRequested`: before
its `CustomersUnmerged`; a `PersonalDataErasureRequested`: before its `CustomerErased`) in
the outbox. Bad input is staged as a dead letter. The whole
batch is committed in one transaction; the outbox relay then publishes it to RETENTION.
`on_deadline` is the ticker's: a customer's retention limit came (deadlines.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from eventsourcing.persistence import RecordConflictError, Tracking

from events import (
    CustomerSplitRequested,
    Event,
    PersonalDataErasureRequested,
    Rejected,
    parse_inbound,
)
from laoke import tracing
from laoke.clock import Clock
from laoke.deadlines import Deadline
from laoke.dlq import dead_letter, subject_dealership
from laoke.eventstore import ServiceApplication, letter_id
from laoke.heap import gc_paused
from laoke.partitions import DEALER_IN_TOKEN
from laoke.work import AggregateCache, UnitOfWork
from services.intake.aggregates import key_id
from services.intake.deadlines import fire, fire_from
from services.intake.resolution import erase, resolve_and_record, split
from services.intake.rules import IdentityError, identity_keys
from services.intake.settings import IntakeSettings

log = logging.getLogger(__name__)
SERVICE = "intake"


@dataclass(frozen=True)
class Inbound:
    """One message as received: its bytes, subject (None over HTTP), a unique origin, and how
    long it waited for intake since laoke received it (in DEALER_IN while intake was busy
    or down), so `received_at` is when it reached laoke, not when intake got round to it.

    `dealership`: whose it is when refused, for its dead letter (over HTTP, as the API key
    says: services/intake/api.py; on NATS, the subject's token). `refusal`: (reason,
    message) when the door already refused it (HTTP: a dealership the key may not write, too
    many events in one request); it is dead-lettered without being read."""

    data: bytes
    subject: str | None
    headers: dict[str, str] | None
    origin: str
    waited: timedelta = timedelta(0)
    dealership: str | None = None
    refusal: tuple[str, str] | None = None


@dataclass(frozen=True)
class Verdict:
    # queued: forwarded to the replica that runs its dealership's partition (service.py)
    status: Literal["accepted", "duplicate", "rejected", "queued"]
    event_id: str | None = None
    customer_id: str | None = None
    reason: str | None = None
    message: str | None = None


class Intake:
    def __init__(
        self,
        app: ServiceApplication,
        settings: IntakeSettings,
        clock: Clock,
        identity_secret: bytes = b"",
    ) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self.identity_secret = identity_secret  # of the person keys' hashes (rules.py)
        self.cache = AggregateCache(settings.cache_size)
        self.recent: AggregateCache = AggregateCache(settings.cache_size)  # recorded event ids
        self.years: dict[str, int] = {}  # each dealership's retention limit

    def record_batch(
        self, batch: Sequence[Inbound], tracking: Tracking | None = None
    ) -> list[Verdict]:
        """Record a batch in one transaction, with `tracking` (the DEALER_IN position it
        reaches) when it came from there. The fast path trusts the caches and lets the
        store refuse what was recorded before; on such a conflict, the batch is redone
        reading everything from the store (resends days later, another replica's writes)."""
        with self.app.lock, gc_paused():
            try:
                return self._record(batch, tracking, careful=False)
            except RecordConflictError:
                return self._record(batch, tracking, careful=True)

    def _record(
        self, batch: Sequence[Inbound], tracking: Tracking | None, careful: bool
    ) -> list[Verdict]:
        started = time.time_ns()
        work = UnitOfWork(self.app, self.cache, careful=careful)
        staged: set[UUID] = set()
        try:
            read = [self._read(inbound) for inbound in batch]
            events = [r for r in read if isinstance(r, Event)]
            keys = self._keys(events)
            work.prefetch(
                key_id(e.dealership_id, k) for e in events for k in keys.get(e.event_id, ())
            )
            verdicts = [
                self._one(work, staged, inbound, r, keys)
                for inbound, r in zip(batch, read, strict=True)
            ]
        except BaseException:
            work.forget()  # the cache holds this batch's changes, never to be committed
            raise
        work.commit(tracking)
        for event in work.decisions:
            self.recent.put(event.event_id, None)
        if tracing.enabled():
            tracing.received(arrivals(batch, verdicts, work.decisions), started)
        return verdicts

    def _read(self, inbound: Inbound) -> Event | Rejected | None:
        """The message's event, why it is refused, or None when the door refused it."""
        if inbound.refusal is not None:
            return None
        try:
            return parse_inbound(inbound.data, inbound.subject, now=self.clock.now())
        except Rejected as rejected:
            return rejected

    def _keys(self, events: Sequence[Event]) -> dict[UUID, list[str]]:
        """The identity keys each event resolves by (resolution.py), worked out for the
        whole batch first, so the keys the store has never seen are found in one query
        (`UnitOfWork.prefetch`) rather than one look-up each."""
        found = {}
        for event in events:
            if isinstance(event, CustomerSplitRequested | PersonalDataErasureRequested):
                continue
            try:
                keys = identity_keys(event, self.settings.phone_region, self.identity_secret)
            except IdentityError:
                continue  # rejected when its turn comes
            found[event.event_id] = keys
        return found

    def _one(
        self,
        work: UnitOfWork,
        staged: set[UUID],
        inbound: Inbound,
        read: Event | Rejected | None,
        keys: dict[UUID, list[str]],
    ) -> Verdict:
        if read is None:
            assert inbound.refusal is not None
            return self._reject(work, inbound, *inbound.refusal)
        if isinstance(read, Rejected):
            return self._reject(work, inbound, read.reason, str(read))
        now = self.clock.now()
        event = read
        try:
            if (
                event.event_id in staged
                or event.event_id in self.recent.items
                or work.in_outbox(event.event_id)
            ):
                return Verdict("duplicate", str(event.event_id))
            received_at = now - max(inbound.waited, timedelta(0))
            events = self._resolve_and_record(work, event, received_at, keys.get(event.event_id))
        except Rejected as rejected:
            return self._reject(work, inbound, rejected.reason, str(rejected))
        except IdentityError as error:
            return self._reject(work, inbound, "bad_value", str(error))
        staged.add(event.event_id)
        work.decide(*events)
        return Verdict("accepted", str(event.event_id), events[-1].customer_id)

    def _reject(self, work: UnitOfWork, inbound: Inbound, reason: str, message: str) -> Verdict:
        letter = dead_letter(
            SERVICE,
            reason,
            message,
            inbound.data,
            inbound.headers,
            origin=inbound.origin,
            subject=inbound.subject,
            dealership=inbound.dealership or subject_dealership(inbound.subject, DEALER_IN_TOKEN),
        )
        if not work.in_outbox(letter_id(letter)):  # a redone batch: dead-lettered before
            work.dead_letter(letter)
        return Verdict("rejected", reason=reason, message=message)

    def _resolve_and_record(
        self,
        work: UnitOfWork,
        event: Event,
        received_at: datetime,
        keys: list[str] | None,
    ) -> list[Event]:
        region, secret = self.settings.phone_region, self.identity_secret
        years = self.retention_years(event.dealership_id)
        if isinstance(event, CustomerSplitRequested):
            return split(work, event, received_at, years)
        if isinstance(event, PersonalDataErasureRequested):
            return erase(work, event, region, received_at, secret, years)
        # no keys: bad ones, which the resolution works out again and refuses
        return resolve_and_record(work, event, region, received_at, secret, years, keys)

    def retention_years(self, dealership_id: str) -> int:
        """The dealership's retention limit (settings.py), looked up once per dealership."""
        years = self.years.get(dealership_id)
        if years is None:
            years = self.years[dealership_id] = self.settings.policy(dealership_id).retention_years
        return years

    def on_deadline(self, work: UnitOfWork, deadline: Deadline) -> None:
        """The ticker's callback: a customer's retention deadline came (deadlines.py)."""
        fire(work, deadline, self.retention_years, self.clock.now())

    def fires_at(self, deadline: Deadline) -> datetime:
        """When a stored deadline fires in this run (the ticker's index, at start)."""
        return fire_from(deadline, self.retention_years)


def arrivals(
    batch: Sequence[Inbound], verdicts: Sequence[Verdict], recorded: Sequence[Event]
) -> list[tracing.Arrival]:
    """The batch as its trace spans show it (laoke/tracing.py): each message with its
    verdict and what was recorded for it (the event, a CustomersMerged: its chain)."""
    chains: dict[str, list[Event]] = {}
    for event in recorded:
        chains.setdefault(str(event.correlation_id), []).append(event)
    return [
        tracing.Arrival(
            inbound.origin,
            inbound.headers,
            verdict.status,
            verdict.event_id,
            chains.get(verdict.event_id or "", []) if verdict.status == "accepted" else [],
            verdict.reason,
        )
        for inbound, verdict in zip(batch, verdicts, strict=True)
    ]
