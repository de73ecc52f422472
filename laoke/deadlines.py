"""Deadlines that survive a restart: stored as aggregates, fired by a ticker asking the clock.

A deadline is fired once: firing is an event on its aggregate, saved in the same transaction
as the decision it causes, so a restart around the deadline cannot fire it twice.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from laoke.clock import Clock
from laoke.eventstore import ServiceApplication
from laoke.work import AggregateCache, UnitOfWork

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)  # pure; a key is asked for again while its plan or case is handled
def deadline_id(key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:deadline:{key}")


class Deadline(Aggregate):
    """`key` names what it is for (e.g. 'complaint:C1:sla'); `ref` what it concerns."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return deadline_id(key)

    @event("Scheduled")
    def __init__(self, key: str, kind: str, ref: str, due_at: datetime) -> None:
        self.key = key
        self.kind = kind
        self.ref = ref
        self.due_at = due_at
        self.pending = True

    @event("Moved")
    def move(self, due_at: datetime) -> None:
        self.due_at = due_at

    @event("Fired")
    def fire(self, at: datetime) -> None:
        self.pending = False

    @event("Rescheduled")
    def reschedule(self, due_at: datetime, kind: str) -> None:
        """Pending again (fired or cancelled before, or moved), due at `due_at`, for `kind`:
        one deadline a thing keeps for life (intake's retention limit, per customer)."""
        self.due_at = due_at
        self.kind = kind
        self.pending = True

    @event("Cancelled")
    def cancel(self) -> None:
        self.pending = False


class DeadlineIndex:
    """In-memory index of pending deadlines, rebuilt from the service's own log at start."""

    def __init__(self) -> None:
        self._due: dict[UUID, datetime] = {}
        self._heap: list[tuple[datetime, UUID]] = []

    def rebuild(
        self, app: ServiceApplication, due: Callable[[Deadline], datetime] | None = None
    ) -> None:
        """Index the store's pending deadlines; `due` says when each is to fire in this run
        (by default its `due_at`: intake fires at once those set under another setting)."""
        prefix = f"{Deadline.__module__}:{Deadline.__qualname__}."
        names = ("Scheduled", "Moved", "Fired", "Cancelled", "Rescheduled")
        self.observe(app.aggregates_with([prefix + name for name in names]), due)

    def observe(
        self, aggregates: Iterable[Aggregate], due: Callable[[Deadline], datetime] | None = None
    ) -> None:
        for aggregate in aggregates:
            if not isinstance(aggregate, Deadline):
                continue
            if aggregate.pending:
                due_at = aggregate.due_at if due is None else due(aggregate)
                self._due[aggregate.id] = due_at
                heapq.heappush(self._heap, (due_at, aggregate.id))
            else:
                self._due.pop(aggregate.id, None)

    def again(self, aggregate_id: UUID) -> None:
        """A deadline `due` returned whose firing failed (nothing committed): due again at
        the next tick."""
        due_at = self._due.get(aggregate_id)
        if due_at is not None:
            heapq.heappush(self._heap, (due_at, aggregate_id))

    def due(self, now: datetime) -> list[UUID]:
        """Pending deadlines due at `now`, earliest first, each once (stale heap entries
        skipped: a deadline moved away and back has two entries at its time, and fired
        twice in a row, one rescheduled in between would fire before its new time)."""
        found: dict[UUID, None] = {}
        while self._heap and self._heap[0][0] <= now:
            due_at, aggregate_id = heapq.heappop(self._heap)
            if self._due.get(aggregate_id) == due_at:
                found[aggregate_id] = None
        return list(found)

    def next_due(self) -> datetime | None:
        """When the earliest pending deadline is due (None: none is pending); stale heap
        entries are dropped on the way, as `due` would."""
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._due)


# What a service does when a deadline passed: load through the unit of work, change, decide
# (dating its decisions at the deadline's `due_at`, not when the ticker noticed it).
OnDeadline = Callable[[UnitOfWork, Deadline], None]


class Ticker:
    """Fires due deadlines: marks the deadline fired (at its `due_at`), lets `on_due` decide
    in the same unit of work and commits it, so a deadline fires once across restarts."""

    def __init__(
        self,
        app: ServiceApplication,
        index: DeadlineIndex,
        clock: Clock,
        on_due: OnDeadline,
        after_fire: Callable[[], None] = lambda: None,
        cache: AggregateCache | None = None,
    ) -> None:
        self.app = app
        self.index = index
        self.clock = clock
        self.on_due = on_due
        self.after_fire = after_fire
        self.cache = cache  # the service's own (its consumer's too): kept exact

    def fire(self, aggregate_id: UUID) -> UnitOfWork | None:
        """Fire one deadline if it is still pending: mark it fired at its `due_at`, let
        `on_due` decide in the same unit of work, commit. Returns the committed unit."""
        work = UnitOfWork(self.app, self.cache)
        deadline = work.get(aggregate_id, Deadline)
        if deadline is None or not deadline.pending:
            return None
        try:
            deadline.fire(at=deadline.due_at)
            self.on_due(work, deadline)
            work.commit()
        except Exception as exc:
            work.forget()  # a cache holds what `on_due` changed, never to be committed
            exc.add_note(f"deadline {deadline.key}")
            raise
        return work

    def fire_due(self) -> int:
        with self.app.lock:
            fired = 0
            for aggregate_id in self.index.due(self.clock.now()):
                try:
                    fired += self.fire(aggregate_id) is not None
                except Exception:
                    log.exception("deadline %s failed; will retry", aggregate_id)
                    self.index.again(aggregate_id)
            return fired

    async def run(
        self, stopping: asyncio.Event, interval_s: float = 1.0, ready: asyncio.Event | None = None
    ) -> None:
        """Fire what is due, while `ready` (the consumer has handled what is on the stream:
        an apology already recorded must cancel its deadline before the deadline fires)."""
        while not stopping.is_set():
            if ready is None or ready.is_set():
                if await asyncio.to_thread(self.fire_due):
                    self.after_fire()
            await self.clock.wait_changed(interval_s)
