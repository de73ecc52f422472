"""The runtime's unit of work and the ticker that commits one per deadline, on a real
(SQLite) store without NATS."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from eventsourcing.persistence import RecordConflictError, Tracking
from hypothesis import given, settings
from hypothesis import strategies as st

from laoke.clock import ManualClock, ReplayClock
from laoke.deadlines import Deadline, DeadlineIndex, Ticker, deadline_id
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.work import AggregateCache, UnitOfWork

DUE = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ServiceApplication]:
    app = ServiceApplication(LaokeSettings(data_dir=tmp_path), "work")
    yield app
    app.close()


def scheduled(app: ServiceApplication, key: str) -> None:
    work = UnitOfWork(app)
    work.add(Deadline(key=key, kind="k", ref="r", due_at=DUE))
    work.commit()


def test_a_unit_loads_each_aggregate_once_and_commits_its_changes_with_the_position(
    app: ServiceApplication,
) -> None:
    scheduled(app, "a")
    work = UnitOfWork(app)
    first = work.get(deadline_id("a"), Deadline)
    assert first is not None and work.get(deadline_id("a"), Deadline) is first
    assert work.get(deadline_id("a"), Ticker) is None, "another kind reads as none"
    assert work.get(deadline_id("absent"), Deadline) is None
    assert not work.changed()
    first.move(due_at=DUE + timedelta(hours=1))  # changed where loaded: saved without add
    assert work.changed()
    work.commit(Tracking("work", 7))
    stored = app.get_or_none(deadline_id("a"))
    assert stored.due_at == DUE + timedelta(hours=1)
    assert app.tracked_position("work") == 7


def test_a_failed_commit_leaves_nothing_of_the_unit_in_the_cache(app: ServiceApplication) -> None:
    cache = AggregateCache(100)
    scheduled(app, "a")
    stale = UnitOfWork(app, cache)
    stale.get(deadline_id("a"), Deadline)  # cached at version 1
    elsewhere = UnitOfWork(app)  # another writer moves it on
    moved = elsewhere.get(deadline_id("a"), Deadline)
    assert moved is not None
    moved.move(due_at=DUE + timedelta(days=1))
    elsewhere.commit()

    work = UnitOfWork(app, cache)
    cached = work.get(deadline_id("a"), Deadline)
    assert cached is not None and cached.due_at == DUE, "read from the (stale) cache"
    cached.cancel()
    with pytest.raises(RecordConflictError):
        work.commit()
    assert cache.items == {}
    careful = UnitOfWork(app, cache, careful=True)
    fresh = careful.get(deadline_id("a"), Deadline)
    assert fresh is not None and fresh.due_at == DUE + timedelta(days=1)


def test_a_deadline_whose_decision_fails_fires_at_a_later_tick_and_once(
    app: ServiceApplication,
) -> None:
    scheduled(app, "a")
    index = DeadlineIndex()
    index.rebuild(app)
    app.observers.append(index.observe)  # as RetentionService wires it
    calls: list[str] = []

    def on_due(work: UnitOfWork, deadline: Deadline) -> None:
        calls.append(deadline.key)
        if len(calls) == 1:
            raise RuntimeError("the store is busy")

    ticker = Ticker(app, index, ManualClock(DUE), on_due)
    assert ticker.fire_due() == 0
    assert app.get_or_none(deadline_id("a")).pending, "nothing of the failed firing committed"
    assert ticker.fire_due() == 1
    assert ticker.fire_due() == 0
    assert calls == ["a", "a"]
    assert not app.get_or_none(deadline_id("a")).pending and len(index) == 0


def test_next_due_is_the_earliest_pending_deadline_after_moves_and_firings(
    app: ServiceApplication,
) -> None:
    index = DeadlineIndex()
    app.observers.append(index.observe)
    assert index.next_due() is None
    scheduled(app, "a")
    work = UnitOfWork(app)
    work.add(Deadline(key="b", kind="k", ref="r", due_at=DUE + timedelta(hours=1)))
    work.commit()
    assert index.next_due() == DUE
    work = UnitOfWork(app)
    moved = work.get(deadline_id("a"), Deadline)
    assert moved is not None
    moved.move(DUE + timedelta(hours=2))
    work.commit()
    assert index.next_due() == DUE + timedelta(hours=1), "a moved entry is stale, not due"
    Ticker(app, index, ManualClock(DUE + timedelta(hours=1)), lambda w, d: None).fire_due()
    assert index.next_due() == DUE + timedelta(hours=2)


def test_a_deadline_rescheduled_as_it_fires_fires_again_at_its_new_time(
    app: ServiceApplication,
) -> None:
    """A deadline standing for a series of times (outreach's plans): rescheduled in the unit
    that fired it, it is due again; one moved away and back is found due once."""
    index = DeadlineIndex()
    app.observers.append(index.observe)
    scheduled(app, "a")
    later = DUE + timedelta(hours=1)
    clock = ManualClock(DUE)
    fired: list[datetime] = []

    def on_due(work: UnitOfWork, deadline: Deadline) -> None:
        fired.append(deadline.due_at)
        if deadline.due_at == DUE:
            deadline.reschedule(later, deadline.kind)

    ticker = Ticker(app, index, clock, on_due)
    assert ticker.fire_due() == 1 and fired == [DUE]
    assert ticker.fire_due() == 0, "not due before its new time"
    clock.set(later)
    assert ticker.fire_due() == 1 and fired == [DUE, later]
    assert not app.get_or_none(deadline_id("a")).pending

    again = later + timedelta(hours=1)
    for due_at in (again, again + timedelta(hours=1), again):  # away and back: two entries
        work = UnitOfWork(app)
        moved = work.get(deadline_id("a"), Deadline)
        assert moved is not None
        if moved.pending:
            moved.move(due_at)
        else:
            moved.reschedule(due_at, "k")
        work.commit()
    assert index.due(again) == [deadline_id("a")]


async def test_a_replay_clock_holds_a_moment_moves_only_forward_and_is_released() -> None:
    clock = ReplayClock()
    assert not clock.held and abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)
    clock.hold(DUE)
    woken = asyncio.ensure_future(clock.wait_changed(60))
    await asyncio.sleep(0)
    clock.hold(DUE + timedelta(days=1))  # a ticker waiting on it wakes at once
    await asyncio.wait_for(woken, 1)
    assert clock.held and clock.now() == DUE + timedelta(days=1)
    with pytest.raises(ValueError, match="may not go back"):
        clock.hold(DUE)
    clock.release()
    assert not clock.held and clock.now() > DUE + timedelta(days=1)


def test_a_prefetch_answers_the_never_recorded_as_absent_without_a_look_up_each(
    app: ServiceApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduled(app, "a")
    looked_up: list[object] = []
    get_or_none = app.get_or_none
    monkeypatch.setattr(app, "get_or_none", lambda i: looked_up.append(i) or get_or_none(i))
    work = UnitOfWork(app)
    work.prefetch([deadline_id("a"), deadline_id("new"), deadline_id("new")])
    assert work.get(deadline_id("new"), Deadline) is None
    assert looked_up == [], "known absent from the one query"
    stored = work.get(deadline_id("a"), Deadline)
    assert stored is not None and stored.key == "a"
    assert looked_up == [deadline_id("a")], "a stored one is loaded when asked for"


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(
        st.datetimes(
            min_value=datetime(1900, 1, 1),
            max_value=datetime(2200, 1, 1),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]),
        ),
        min_size=1,
        max_size=30,
    ),
    cut=st.integers(min_value=0, max_value=29),
)
def test_the_index_finds_the_deadlines_due_by_any_time_in_due_time_order(
    times: list[datetime], cut: int
) -> None:
    """Due times before the epoch, in any offset, to the microsecond: `due(now)` gives each
    deadline due by `now` once, earliest first, and `next_due` the earliest left."""
    deadlines = [Deadline(key=f"d{i}", kind="k", ref="r", due_at=t) for i, t in enumerate(times)]
    now = sorted(times)[min(cut, len(times) - 1)]
    index = DeadlineIndex()
    index.observe(deadlines)
    expected = sorted((d.due_at, d.id) for d in deadlines if d.due_at <= now)
    assert index.due(now) == [ident for _, ident in expected]
    later = [d.due_at for d in deadlines if d.due_at > now]
    assert index.next_due() == (min(later) if later else None)
