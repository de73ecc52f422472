"""The unit of work of the runtime: what handling one event, one deadline or one batch loads
and changes, committed in one transaction.

The runtime makes one per RETENTION message (laoke/consumer.py) and per deadline it fires
(laoke/deadlines.py); intake makes one per inbound batch. A service's `handle(work, event)`
and `on_deadline(work, deadline)` load aggregates through it (each once per unit, so later
steps see earlier changes), add what they create, and record decisions. `commit` then
writes the aggregates' new events, the decisions and dead letters (as outbox entries) and
the stream position in one transaction (`ServiceApplication.commit`, laoke/eventstore.py).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Tracking

from events import Event
from laoke.eventstore import ServiceApplication
from laoke.publishing import Outgoing

A = TypeVar("A", bound=Aggregate)


def created_here(aggregate: Aggregate) -> bool:
    """None of its events is stored yet: it was created in the unit of work at hand."""
    return len(aggregate.pending_events) == aggregate.version


class AggregateCache:
    """Aggregates read or written by earlier units of work, and ids known to be absent.

    Exact while this process is the only writer. Another writer (a second replica on a
    shared PostgreSQL) makes it stale; the store then refuses the stale write (a version
    conflict), and the caller clears the cache and redoes the unit carefully.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.items: OrderedDict[UUID, Aggregate | None] = OrderedDict()

    def put(self, aggregate_id: UUID, aggregate: Aggregate | None) -> None:
        self.items[aggregate_id] = aggregate
        self.items.move_to_end(aggregate_id)
        if len(self.items) > self.maxsize:
            self.items.popitem(last=False)

    def clear(self) -> None:
        self.items.clear()


class UnitOfWork:
    """Aggregates loaded or added, decisions and dead letters: all saved by `commit`.

    With a `cache`, reads come from it where they can (intake: a batch's messages often
    concern customers of the batch before); `careful` reads everything from the store, for
    a unit redone after a write conflict.
    """

    def __init__(
        self, app: ServiceApplication, cache: AggregateCache | None = None, *, careful: bool = False
    ) -> None:
        self.app = app
        self.cache = cache
        self.careful = careful
        self.loaded: dict[UUID, Aggregate | None] = {}
        self.decisions: list[Event] = []
        self.letters: list[Outgoing] = []

    def get(self, aggregate_id: UUID, kind: type[A], *, stored: bool = True) -> A | None:
        """The aggregate, or None when there is none of that kind. `stored=False`: the
        caller knows the store holds none (it goes with an aggregate created in this unit,
        see `created_here`), so only this unit's are looked at."""
        if aggregate_id not in self.loaded:
            if not stored:
                return None
            self.loaded[aggregate_id] = self._load(aggregate_id)
        found = self.loaded[aggregate_id]
        return found if isinstance(found, kind) else None

    def _load(self, aggregate_id: UUID) -> Aggregate | None:
        cache = self.cache
        if cache is not None and not self.careful and aggregate_id in cache.items:
            return cache.items[aggregate_id]
        found: Aggregate | None = self.app.get_or_none(aggregate_id)
        if cache is not None:
            cache.put(aggregate_id, found)
        return found

    def prefetch(self, aggregate_ids: Iterable[UUID]) -> None:
        """Find in one query which of these the store has never recorded, so `get` answers
        None for them without a look-up each (intake: the identity keys of a whole batch,
        most of them new in a history import)."""
        cached = {} if self.careful or self.cache is None else self.cache.items
        unknown = [
            i for i in dict.fromkeys(aggregate_ids) if i not in self.loaded and i not in cached
        ]
        if unknown:
            stored = self.app.stored_ids(unknown)
            self.loaded.update((i, None) for i in unknown if i not in stored)

    def in_outbox(self, message_id: UUID) -> bool:
        """Whether the store's outbox holds that message (a decision or a dead letter);
        asked in careful mode only (the fast path lets the store refuse a duplicate, and the
        unit is redone carefully)."""
        return self.careful and self.app.in_outbox(message_id)

    def add(self, *aggregates: Aggregate | None) -> None:
        """Aggregates to save with the unit (new ones; loaded ones are saved anyway)."""
        for aggregate in aggregates:
            if aggregate is not None:
                self.loaded[aggregate.id] = aggregate

    def decide(self, *decisions: Event) -> None:
        self.decisions.extend(decisions)

    def dead_letter(self, letter: Outgoing) -> None:
        self.letters.append(letter)

    def changed(self) -> bool:
        return (
            bool(self.decisions)
            or bool(self.letters)
            or any(a is not None and a.pending_events for a in self.loaded.values())
        )

    def commit(self, tracking: Tracking | None = None) -> None:
        """Save it all, with `tracking` (the stream position reached) when given, in one
        transaction. A failed commit leaves the cache empty: it held uncommitted changes."""
        try:
            self.app.commit(
                *self.loaded.values(),
                decisions=self.decisions,
                letters=self.letters,
                tracking=tracking,
            )
        except BaseException:
            self.forget()
            raise
        if self.cache is not None:
            for aggregate_id, aggregate in self.loaded.items():
                if aggregate is not None:
                    self.cache.put(aggregate_id, aggregate)

    def forget(self) -> None:
        """Drop what the cache holds of this unit: it is not (or may not be) committed."""
        if self.cache is not None:
            self.cache.clear()
