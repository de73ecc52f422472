"""Outreach live in process on one ManualClock: each event handled when it happened, the
ticker firing every deadline on its day (the clock walks in steps of at most 12 hours).
It uses only what every version of outreach offers: tests/outreach/data was made with it
by the version before one deadline per plan (make_v1.py), and the tests replay it now."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from events import Event, parse_recorded, to_json
from laoke.clock import ManualClock
from laoke.deadlines import DeadlineIndex, Ticker
from laoke.eventstore import ServiceApplication
from laoke.work import UnitOfWork
from services.outreach.application import Outreach
from services.outreach.settings import OutreachSettings

STEP = timedelta(hours=12)


class Live:
    """Outreach on `app` (a new store, or one written before), its decisions kept."""

    def __init__(self, app: ServiceApplication, clock: ManualClock) -> None:
        self.app = app
        self.clock = clock
        self.outreach = Outreach(app, OutreachSettings(), clock)
        self.index = DeadlineIndex()
        self.index.rebuild(app)
        app.observers.append(self.index.observe)
        self.ticker = Ticker(app, self.index, clock, self.outreach.on_deadline)
        self.decisions: list[Event] = []

    def walk(self, to: datetime) -> None:
        while self.clock.now() < to:
            self.clock.set(min(to, self.clock.now() + STEP))
            while due := self.index.due(self.clock.now()):
                for aggregate_id in due:
                    fired = self.ticker.fire(aggregate_id)
                    if fired is not None:
                        self.decisions.extend(fired.decisions)

    def handle(self, event: Event) -> None:
        self.walk(event.occurred_at)
        work = UnitOfWork(self.app)
        self.outreach.handle(work, event)
        work.commit()
        self.decisions.extend(work.decisions)


def write(path: Path, events: list[Event]) -> None:
    path.write_text("".join(to_json(e).decode() + "\n" for e in events))


def read(path: Path) -> list[Event]:
    return [parse_recorded(line.encode()) for line in path.read_text().splitlines()]


def by_customer(events: list[Event]) -> dict[str | None, list[str]]:
    """Each customer's decisions in the order taken (customers' deadlines due at the same
    moment may fire in another order between them: each plan decides alone)."""
    found: dict[str | None, list[str]] = defaultdict(list)
    for event in events:
        found[event.customer_id].append(json.dumps(json.loads(to_json(event)), sort_keys=True))
    return dict(found)
