"""A service commits a pulled run of RETENTION messages in one transaction. Its decisions
must not depend on where runs begin and end, and a message whose handler fails must cost
only itself: the ones before it commit together, it is dead-lettered after its tries, the
rest go on."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.msg import Msg

from events import Event
from laoke.bench.handling import messages
from laoke.clock import ManualClock
from laoke.consumer import RetentionConsumer
from laoke.deadlines import Deadline, deadline_id
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.work import AggregateCache, UnitOfWork
from services.outreach.application import Outreach
from services.outreach.settings import OutreachSettings

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


def apply(method: Callable[[Any], None], run: Any) -> None:
    """Call a consumer's method as the runner does, in a worker thread's own context (the
    log context it sets stays there)."""
    contextvars.copy_context().run(method, run)


def outbox(app: ServiceApplication) -> list[tuple[str, str]]:
    """The outbox in commit order: each entry's subject and body."""
    return [(m.subject, m.body.decode()) for _, m in app.outbox_after(0, 100_000)]


def run_outreach(
    settings: LaokeSettings, name: str, run_size: int, cache: AggregateCache | None = None
) -> list[tuple[str, str]]:
    """Outreach's outbox after 40 customers in runs of `run_size` (0: committed message by
    message, as a run that failed is redone), with `cache` between runs when given."""
    app = ServiceApplication(settings, name)
    try:
        outreach = Outreach(app, OutreachSettings(), ManualClock(NOW))
        consumer = RetentionConsumer(name, app, outreach.handle, loads=outreach.loads, cache=cache)
        delivered = messages(consumer.durable, 40, NOW)
        if not run_size:
            apply(consumer._apply_each, [(m, p) for p, m in enumerate(delivered, start=1)])
        for start in range(0, len(delivered), run_size or len(delivered)):
            apply(consumer._apply, delivered[start : start + run_size])
        assert app.tracked_position(name) == len(delivered)
        return outbox(app)
    finally:
        app.close()


def test_the_decisions_are_the_same_whatever_the_runs(settings: LaokeSettings) -> None:
    """Message by message (no run's plans looked up together) or in runs of any size."""
    one_by_one = run_outreach(settings, "outreach_0", 0)
    assert one_by_one, "the customers' purchases were decided on"
    for run_size in (1, 7, 200):
        assert run_outreach(settings, f"outreach_{run_size}", run_size) == one_by_one


def test_the_decisions_are_the_same_with_aggregates_kept_between_runs(
    settings: LaokeSettings,
) -> None:
    """A cache too small for the customers (aggregates come and go) or big enough for all."""
    one_by_one = run_outreach(settings, "outreach_0", 0)
    for size in (5, 10_000):
        cache = AggregateCache(size)
        assert run_outreach(settings, f"outreach_cached_{size}", 7, cache) == one_by_one
        assert cache.items, "the runs kept aggregates"


def test_a_failing_message_costs_only_itself(settings: LaokeSettings) -> None:
    """The run fails at its fifth message: the others are handled once each after the
    redo, that one is dead-lettered after its tries, and the position reaches the run's
    end."""
    app = ServiceApplication(settings, "runs")
    consumer = RetentionConsumer("runs", app, lambda work, event: None)
    run: Sequence[Msg] = messages(consumer.durable, 3, NOW)  # 9 messages
    poison = run[4].data
    handled: list[bytes] = []

    def handle(work: UnitOfWork, event: Event) -> None:
        data = next(m.data for m in run if f'"{event.event_id}"'.encode() in m.data)
        handled.append(data)
        if data == poison:
            raise ValueError("poison")

    consumer.handle = handle
    try:
        apply(consumer._apply, run)
        letters = [subject for subject, _ in outbox(app)]
        assert len(letters) == 1 and "handler_error" in letters[0], letters
        assert handled.count(poison) == consumer.max_tries, "its try in the run counts"
        before, after = [m.data for m in run[:4]], [m.data for m in run[5:]]
        assert handled == before + [poison] + before + [poison] * 2 + after, (
            "the run up to it, then the ones before it again (committed together), its "
            "other tries, and the rest"
        )
        assert app.tracked_position("runs") == len(run)
    finally:
        app.close()


def test_a_failing_handler_leaves_nothing_of_its_changes_in_the_cache(
    settings: LaokeSettings,
) -> None:
    """The handler moves a cached deadline, then fails: the redo and the runs after it see
    the deadline as stored, not as the failed handler left it."""
    app = ServiceApplication(settings, "cached")
    cache = AggregateCache(100)
    key = deadline_id("d")
    seen: list[datetime] = []

    def handle(work: UnitOfWork, event: Event) -> None:
        deadline = work.get(key, Deadline)
        if deadline is None:
            work.add(Deadline(key="d", kind="k", ref="r", due_at=NOW))
            return
        seen.append(deadline.due_at)
        deadline.move(due_at=deadline.due_at + timedelta(days=1))
        raise ValueError("fails after its change")

    consumer = RetentionConsumer("cached", app, handle, cache=cache)
    run: Sequence[Msg] = messages(consumer.durable, 1, NOW)  # 3 messages
    try:
        apply(consumer._apply, run)
        assert seen == [NOW] * (2 * consumer.max_tries), "every try saw the stored deadline"
        stored = app.get_or_none(key)
        assert stored.due_at == NOW and app.tracked_position("cached") == len(run)
    finally:
        app.close()
