"""Deadlines that survive a restart: stored as aggregates, fired by a ticker asking the clock.

A deadline is fired once: firing is an event on its aggregate, saved in the same transaction
as the decision it causes, so a restart around the deadline cannot fire it twice.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from laoke.clock import Clock
from laoke.eventstore import ServiceApplication
from laoke.threads import in_thread
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


# A pending deadline in the index is one int: its due time (microseconds since the epoch)
# above its id's 128 bits, so ints order as (due time, id). A million pending deadlines (one
# per customer's contact plan) take ~150 MB so, against ~265 MB as (datetime, UUID) tuples.
_ID_BITS = 128
_ID_MASK = (1 << _ID_BITS) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _entry(due_at: datetime, ident: int) -> int:
    return (due_at - _EPOCH) // _MICROSECOND << _ID_BITS | ident


def _due_at(entry: int) -> datetime:
    return _EPOCH + (entry >> _ID_BITS) * _MICROSECOND


class DeadlineIndex:
    """In-memory index of pending deadlines, rebuilt from the service's own log at start."""

    def __init__(self) -> None:
        self._entries: dict[int, int] = {}  # id (as int) -> its entry
        self._heap: list[int] = []  # entries, stale ones too (skipped when popped)

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
            ident = aggregate.id.int
            if aggregate.pending:
                entry = _entry(aggregate.due_at if due is None else due(aggregate), ident)
                self._entries[ident] = entry
                heapq.heappush(self._heap, entry)
            else:
                self._entries.pop(ident, None)

    def again(self, aggregate_id: UUID) -> None:
        """A deadline `due` returned whose firing failed (nothing committed): due again at
        the next tick."""
        entry = self._entries.get(aggregate_id.int)
        if entry is not None:
            heapq.heappush(self._heap, entry)

    def due(self, now: datetime) -> list[UUID]:
        """Pending deadlines due at `now`, earliest first, each once (stale heap entries
        skipped: a deadline moved away and back has two entries at its time, and fired
        twice in a row, one rescheduled in between would fire before its new time)."""
        found: dict[int, None] = {}
        cutoff = _entry(now, _ID_MASK)  # after every entry due at `now`
        while self._heap and self._heap[0] <= cutoff:
            entry = heapq.heappop(self._heap)
            ident = entry & _ID_MASK
            if self._entries.get(ident) == entry:
                found[ident] = None
        return [UUID(int=ident) for ident in found]

    def next_due(self) -> datetime | None:
        """When the earliest pending deadline is due (None: none is pending); stale heap
        entries are dropped on the way, as `due` would."""
        while self._heap and self._entries.get(self._heap[0] & _ID_MASK) != self._heap[0]:
            heapq.heappop(self._heap)
        return _due_at(self._heap[0]) if self._heap else None

    def __len__(self) -> int:
        return len(self._entries)


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
                if await in_thread(self.fire_due):
                    self.after_fire()
            await self.clock.wait_changed(interval_s)
