"""The unit of work of the runtime: what handling one event (or one deadline) changed."""

from __future__ import annotations

from dataclasses import dataclass, field

from eventsourcing.domain import Aggregate

from events import Event


@dataclass
class Changes:
    """What handling one event changed: aggregates to save and decisions to record."""

    aggregates: list[Aggregate] = field(default_factory=list)
    decisions: list[Event] = field(default_factory=list)

    def add(self, *aggregates: Aggregate | None) -> None:
        self.aggregates.extend(a for a in aggregates if a is not None)

    def decide(self, *decisions: Event) -> None:
        self.decisions.extend(decisions)

    def changed(self) -> bool:
        return bool(self.decisions) or any(a.pending_events for a in self.aggregates)
