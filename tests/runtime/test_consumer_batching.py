"""RetentionConsumer commits a pulled batch in one transaction: each handler sees what the
batch's earlier messages changed, a failing message is retried and dead-lettered on its own
without losing the others' changes, and a change a handler does not return is not saved."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from eventsourcing.domain import Aggregate, event
from nats.js import JetStreamContext

from events import Event, retention_subject
from events.factories import sample_inbound
from laoke.consumer import Changes, RetentionConsumer
from laoke.eventstore import OUTBOX_TOPIC, ServiceApplication
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION

CUSTOMER = "c-batch-0001"


class Tally(Aggregate):
    """The events a customer's messages were handled for, in order."""

    @staticmethod
    def create_id(customer_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"tally/{customer_id}")

    @event("Started")
    def __init__(self, customer_id: str) -> None:
        self.seen: list[str] = []

    @event("Counted")
    def count(self, event_id: str) -> None:
        self.seen.append(event_id)


class Tallying:
    """A handler that counts each event on its customer's tally. On an id in `poison` it
    counts, then raises; on an id in `unreturned` it counts but returns nothing."""

    def __init__(self, app: ServiceApplication) -> None:
        self.app = app
        self.poison: set[str] = set()
        self.unreturned: set[str] = set()
        self.attempts: Counter[str] = Counter()

    def __call__(self, recorded: Event) -> Changes | None:
        key = str(recorded.event_id)
        self.attempts[key] += 1
        assert recorded.customer_id is not None
        tally = self.app.get_or_none(Tally.create_id(recorded.customer_id))
        if tally is None:
            tally = Tally(recorded.customer_id)
        tally.count(key)
        if key in self.poison:
            raise RuntimeError(f"boom on {key}")
        if key in self.unreturned:
            return None
        return Changes(aggregates=[tally])


@pytest.fixture
async def app(settings: LaokeSettings) -> AsyncIterator[ServiceApplication]:
    application = ServiceApplication(settings, "batching")
    yield application
    application.close()


@pytest.fixture
def handler(app: ServiceApplication) -> Tallying:
    return Tallying(app)


@pytest.fixture
async def consumer(
    app: ServiceApplication, handler: Tallying, js: JetStreamContext
) -> RetentionConsumer:
    consumer = RetentionConsumer("batching", app, handler)
    await consumer.prepare(js)
    return consumer


def recorded() -> dict[str, Any]:
    event_id = str(uuid.uuid4())
    body = sample_inbound("CustomerVisited", event_id=event_id)
    return body | {"customer_id": CUSTOMER, "correlation_id": event_id, "causation_id": event_id}


async def put_all(js: JetStreamContext, events: list[dict[str, Any]]) -> int:
    """Publish onto RETENTION; the last position."""
    last = 0
    for body in events:
        subject = retention_subject(body["dealership_id"], CUSTOMER, body["event_type"])
        ack = await js.publish(subject, json.dumps(body).encode())
        last = ack.seq
    return last


async def handle_one_batch(js: JetStreamContext, consumer: RetentionConsumer, n: int) -> None:
    pull = await js.pull_subscribe_bind(consumer.durable, stream=RETENTION)
    messages = await pull.fetch(n, timeout=5)
    assert len(messages) == n, "the test needs the whole batch in one pull"
    await consumer.handle_batch(messages)


def tally(app: ServiceApplication) -> list[str]:
    found = app.get_or_none(Tally.create_id(CUSTOMER))
    return list(found.seen) if isinstance(found, Tally) else []


def outbox_count(app: ServiceApplication) -> int:
    return len(app.recorder.select_notifications(1, 1000, topics=[OUTBOX_TOPIC]))


async def test_a_batch_is_one_transaction_and_each_handler_sees_the_earlier_changes(
    app: ServiceApplication, consumer: RetentionConsumer, js: JetStreamContext
) -> None:
    events = [recorded() for _ in range(5)]
    last = await put_all(js, events)
    commits = Counter[str]()
    observed: list[Aggregate] = []
    app.observers.append(observed.extend)
    commit = app.commit

    def counted_commit(*args: Any, **kwargs: Any) -> None:
        commits["commit"] += 1
        commit(*args, **kwargs)

    app.commit = counted_commit  # type: ignore[method-assign]

    await handle_one_batch(js, consumer, 5)

    assert commits["commit"] == 1
    assert tally(app) == [e["event_id"] for e in events], "one tally, counted by every message"
    assert app.tracked_position(consumer.durable) == last
    assert [a.id for a in observed] == [Tally.create_id(CUSTOMER)], "observed once committed"


async def test_a_failing_message_is_retried_then_dead_lettered_and_the_others_are_kept(
    app: ServiceApplication, consumer: RetentionConsumer, handler: Tallying, js: JetStreamContext
) -> None:
    events = [recorded() for _ in range(5)]
    bad = events[2]["event_id"]
    handler.poison.add(bad)
    last = await put_all(js, events)

    await handle_one_batch(js, consumer, 5)

    kept = [e["event_id"] for e in events if e["event_id"] != bad]
    assert tally(app) == kept, "the poison's own change is dropped, the others' kept"
    assert handler.attempts[bad] == consumer.max_tries
    assert handler.attempts[events[-1]["event_id"]] == 1, "after the poison: handled once"
    assert outbox_count(app) == 1, "the poison is dead-lettered"
    assert app.tracked_position(consumer.durable) == last


async def test_a_change_the_handler_does_not_return_is_not_saved(
    app: ServiceApplication, consumer: RetentionConsumer, handler: Tallying, js: JetStreamContext
) -> None:
    events = [recorded() for _ in range(4)]
    silent = events[1]["event_id"]
    handler.unreturned.add(silent)
    last = await put_all(js, events)

    await handle_one_batch(js, consumer, 4)

    assert tally(app) == [e["event_id"] for e in events if e["event_id"] != silent]
    assert app.tracked_position(consumer.durable) == last


async def test_a_batch_already_tracked_is_not_handled_again(
    app: ServiceApplication, consumer: RetentionConsumer, handler: Tallying, js: JetStreamContext
) -> None:
    events = [recorded() for _ in range(3)]
    await put_all(js, events)
    pull = await js.pull_subscribe_bind(consumer.durable, stream=RETENTION)
    messages = await pull.fetch(3, timeout=5)

    await consumer.handle_batch(messages)
    consumer._apply(messages)  # redelivered after lost acks: handle_batch, short of acking

    assert tally(app) == [e["event_id"] for e in events]
    assert all(handler.attempts[e["event_id"]] == 1 for e in events)
