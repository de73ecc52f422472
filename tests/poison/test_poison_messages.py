"""A message a consumer cannot handle neither blocks it nor vanishes: after `max_tries` it is
dead-lettered (with the error, or the parse reason), the tracked position moves past it,
later messages are handled, and a restart does not dead-letter it a second time. One of a
type the service does not handle is passed over unread: never dead-lettered by it."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from poison_support import PoisonedService, count, put, put_event, recorded
from waiting import wait_for

from laoke.clock import ManualClock
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION_DLQ


@pytest.fixture
async def attempts() -> Counter[str]:
    return Counter()


@pytest.fixture
async def poison() -> set[str]:
    return set()


@pytest.fixture
async def service(
    settings: LaokeSettings,
    clock: ManualClock,
    js: JetStreamContext,
    poison: set[str],
    attempts: Counter[str],
) -> AsyncIterator[PoisonedService]:
    running = PoisonedService(settings, clock, poison, attempts)
    await running.start()
    yield running
    await running.stop()


async def letters(js: JetStreamContext) -> list[tuple[str, dict[str, str], bytes]]:
    found = []
    for seq in range(1, await count(js, RETENTION_DLQ) + 1):
        msg = await js.get_msg(RETENTION_DLQ, seq)
        found.append((msg.subject or "", dict(msg.headers or {}), msg.data or b""))
    return found


async def test_a_failing_handler_is_retried_then_dead_lettered_and_the_consumer_moves_on(
    service: PoisonedService, js: JetStreamContext, poison: set[str], attempts: Counter[str]
) -> None:
    before, bad, after = recorded(), recorded(note="the poison"), recorded()
    poison.add(bad["event_id"])
    for event in (before, bad, after):
        last = await put_event(js, event)

    await wait_for(lambda: service.position() >= last, what="the position past the poison")
    assert attempts[after["event_id"]] == 1, "the message after the poison is handled"
    assert attempts[bad["event_id"]] == service.consumer.max_tries == 3

    async def one_letter() -> bool:
        return await count(js, RETENTION_DLQ) >= 1

    await wait_for(one_letter, what="the dead letter")
    ((subject, headers, data),) = await letters(js)
    assert subject == "dlq.poisoned.handler_error"
    assert headers["Laoke-Reason"] == "handler_error"
    assert headers["Laoke-Error"].startswith("RuntimeError: boom on " + bad["event_id"])
    assert headers["Laoke-Origin"] == f"RETENTION:{last - 1}"
    assert b"the poison" in data, "the original bytes are kept"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "bad_json"),
        (b"[" * 5000 + b"]" * 5000, "bad_json"),  # deeper than any JSON decoder recurses
        (b'{"event_type": "CustomerVisited", "schema_version": 1}', "missing_field"),
        (b'{"event_type": "NoSuchThing", "schema_version": 1}', "unknown_type"),
        (b"\xff\xfe not utf-8", "bad_json"),
    ],
    ids=["bad-json", "deep-nesting", "missing-fields", "unknown-type", "not-utf8"],
)
async def test_a_message_that_is_not_a_recorded_event_is_dead_lettered_with_its_parse_reason(
    service: PoisonedService, js: JetStreamContext, attempts: Counter[str], body: bytes, reason: str
) -> None:
    await put(js, "retention.demo-4s.c-demo-0001.CustomerVisited", body)
    after = recorded()
    last = await put_event(js, after)

    await wait_for(lambda: service.position() >= last, what="the position past the bad message")
    assert attempts[after["event_id"]] == 1

    async def one_letter() -> bool:
        return await count(js, RETENTION_DLQ) >= 1

    await wait_for(one_letter, what="the dead letter")
    ((subject, headers, data),) = await letters(js)
    assert subject == f"dlq.poisoned.{reason}"
    assert headers["Laoke-Error"]
    assert headers["Laoke-Origin"] == "RETENTION:1"
    assert data == body


async def test_a_restart_neither_retries_nor_dead_letters_a_poison_message_again(
    settings: LaokeSettings,
    clock: ManualClock,
    js: JetStreamContext,
    poison: set[str],
    attempts: Counter[str],
) -> None:
    bad = recorded()
    poison.add(bad["event_id"])
    first = PoisonedService(settings, clock, poison, attempts)
    await first.start()
    try:
        position = await put_event(js, bad)
        await put(js, "retention.demo-4s.c-demo-0001.CustomerVisited", b"{not json")
        await wait_for(lambda: first.position() >= position + 1, what="both bad messages")

        async def two_letters() -> bool:
            return await count(js, RETENTION_DLQ) >= 2

        await wait_for(two_letters, what="two dead letters")
    finally:
        await first.stop()

    again = PoisonedService(settings, clock, poison, attempts)
    await again.start()
    try:
        after = recorded()
        last = await put_event(js, after)
        await wait_for(lambda: again.position() >= last, what="the event after the restart")
        assert again.relay is not None
        await again.relay.drain()
    finally:
        await again.stop()
    assert attempts[after["event_id"]] == 1
    assert attempts[bad["event_id"]] == 3, "not retried after the restart"
    assert [subject for subject, _, _ in await letters(js)] == [
        "dlq.poisoned.handler_error",
        "dlq.poisoned.bad_json",
    ], "each dead-lettered once"


async def test_a_type_the_service_does_not_handle_is_passed_over_unread(
    settings: LaokeSettings, clock: ManualClock, js: JetStreamContext, attempts: Counter[str]
) -> None:
    """By its subject alone: a body that would be dead-lettered is not, a valid one never
    reaches the handler, and the position moves past both (the last of their run)."""
    handled = frozenset({"CustomerVisited"})
    service = PoisonedService(settings, clock, set(), attempts, handled=handled)
    await service.start()
    try:
        first = recorded()
        await put_event(js, first)
        await put(js, "retention.demo-4s.c-demo-0001.ServiceCompleted", b"{not json")
        last = await put_event(js, recorded("ServiceCompleted"))
        await wait_for(lambda: service.position() >= last, what="the position past both")
        then = recorded()
        after = await put_event(js, then)
        await wait_for(lambda: service.position() >= after, what="the next handled one")
        assert service.relay is not None
        await service.relay.drain()
        assert await count(js, RETENTION_DLQ) == 0, "nothing dead-lettered"
    finally:
        await service.stop()
    assert attempts == Counter({first["event_id"]: 1, then["event_id"]: 1})
