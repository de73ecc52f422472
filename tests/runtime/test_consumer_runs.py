"""A service commits a pulled run of RETENTION messages in one transaction. Its decisions
must not depend on where runs begin and end, and a message whose handler fails must cost
only itself: the ones before it commit together, it is dead-lettered after its tries, the
rest go on."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg

from events import Event
from laoke.bench.handling import messages
from laoke.clock import ManualClock
from laoke.consumer import RetentionConsumer
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from laoke.work import UnitOfWork
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


def run_outreach(settings: LaokeSettings, name: str, run_size: int) -> list[tuple[str, str]]:
    """Outreach's outbox after 40 customers in runs of `run_size` (0: committed message by
    message, as a run that failed is redone)."""
    app = ServiceApplication(settings, name)
    try:
        outreach = Outreach(app, OutreachSettings(), ManualClock(NOW))
        consumer = RetentionConsumer(name, app, outreach.handle, loads=outreach.loads)
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
