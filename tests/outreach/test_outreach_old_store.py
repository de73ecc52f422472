"""A store written by the version before one deadline per plan (tests/outreach/data, made
by that version with make_v1.py) still loads, and outreach decides on it as that version
did: the same contacts, skips, expiries and answers, at the same times, customer by
customer. Its slots' own deadlines are cancelled at each plan's first change; from then
on each plan has one deadline. The same history on an empty store decides the same."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from uuid import UUID

from laoke.clock import ManualClock
from laoke.deadlines import Deadline
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from services.outreach.aggregates import ContactPlan
from services.outreach.scheduling import PLAN
from services.outreach.slots import next_slot
from tests.outreach.data.make_v1 import DECIDED, END, HISTORY, SPLIT, unpack
from tests.outreach.live import Live, by_customer, read


def deadlines(app: ServiceApplication) -> list[Deadline]:
    ids = {n.originator_id for n in app.recorder.select_notifications(1, 100_000)}
    found = [app.repository.get(UUID(str(i))) for i in ids]
    return [d for d in found if isinstance(d, Deadline)]


def test_a_store_of_the_version_before_decides_as_that_version_did(tmp_path: Path) -> None:
    settings = LaokeSettings(data_dir=tmp_path)
    unpack(settings.sqlite_path("outreach"))
    app = ServiceApplication(settings, "outreach")
    try:
        own = [d for d in deadlines(app) if d.kind != PLAN and d.pending]
        assert own, "the store has slots with a deadline of their own, pending"
        live = Live(app, ManualClock(SPLIT))
        assert len(live.index) == len(own)
        for event in (e for e in read(HISTORY) if e.occurred_at >= SPLIT):
            live.handle(event)
        live.walk(END)
        assert by_customer(live.decisions) == by_customer(read(DECIDED))

        pending = [d for d in deadlines(app) if d.pending]
        assert {d.kind for d in pending} == {PLAN}, "every slot's own deadline was retired"
        per_plan = Counter(d.ref for d in pending)
        assert set(per_plan.values()) == {1}
        for ref in per_plan:
            plan = app.repository.get(UUID(ref))
            assert isinstance(plan, ContactPlan) and not plan.own_deadlines
            found = next_slot(plan.deadlines)
            assert found is not None
            assert next(d.due_at for d in pending if d.ref == ref) == found[1]
    finally:
        app.close()


def test_the_same_history_on_an_empty_store_decides_the_same(tmp_path: Path) -> None:
    app = ServiceApplication(LaokeSettings(data_dir=tmp_path), "outreach")
    try:
        history = read(HISTORY)
        live = Live(app, ManualClock(history[0].occurred_at))
        for event in (e for e in history if e.occurred_at < SPLIT):
            live.handle(event)
        live.walk(SPLIT)
        live.decisions.clear()  # those before SPLIT made the store of the data
        for event in (e for e in history if e.occurred_at >= SPLIT):
            live.handle(event)
        live.walk(END)
        assert by_customer(live.decisions) == by_customer(read(DECIDED))
        assert all(d.kind == PLAN for d in deadlines(app))
    finally:
        app.close()
