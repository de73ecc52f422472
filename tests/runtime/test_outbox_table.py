"""The outbox table (laoke/recorders.py): rows in commit order, a message recorded once,
and an older store's outbox entries taken into it once with the relay's position. On SQLite,
and on PostgreSQL when LAOKE_TEST_POSTGRES_DSN is set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import RecordConflictError, Tracking

from events import FollowUpDue
from laoke.eventstore import OLDER_RELAY, OutboxEntry, ServiceApplication
from laoke.publishing import Outgoing
from laoke.recorders import OUTBOX_TRACKING
from laoke.settings import LaokeSettings

AT = datetime(2026, 1, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path, postgres_dsn: str | None) -> LaokeSettings:
    return LaokeSettings(
        data_dir=tmp_path,
        store="postgres" if postgres_dsn else "sqlite",
        postgres_dsn=postgres_dsn or "postgresql://unused",
    )


@pytest.fixture
def app(store: LaokeSettings) -> Iterator[ServiceApplication]:
    app = ServiceApplication(store, "box")
    yield app
    app.close()


def decision(n: int) -> FollowUpDue:
    event_id = uuid4()
    return FollowUpDue(
        event_id=event_id,
        correlation_id=event_id,
        causation_id=event_id,
        dealership_id="d1",
        customer_id=f"c{n}",
        occurred_at=AT,
        source="outreach",
        follow_up_id=f"f{n}",
        reason="purchase_call_7d",
        channel="phone",
        due_at=AT,
    )


def test_decisions_and_letters_wait_in_commit_order_with_their_message_ids(
    app: ServiceApplication,
) -> None:
    first, second = decision(1), decision(2)
    letter = Outgoing("dlq.box.bad", b"\x00raw", {"Nats-Msg-Id": "letter-1", "Reason": "x"})
    app.commit(decisions=[first], tracking=Tracking("in", 1))
    app.commit(decisions=[second], letters=[letter], tracking=Tracking("in", 2))
    rows = app.outbox_after(0, 10)
    assert [m.subject for _, m in rows] == [
        "retention.d1.c1.FollowUpDue",
        "retention.d1.c2.FollowUpDue",
        "dlq.box.bad",
    ]
    assert [p for p, _ in rows] == sorted(p for p, _ in rows)
    assert rows[0][1].headers["Nats-Msg-Id"] == str(first.event_id)
    assert rows[2][1] == letter, "a dead letter keeps its bytes and headers"
    assert app.in_outbox(second.event_id) and not app.in_outbox(uuid4())
    after_first = app.outbox_after(rows[0][0], 10)
    assert [m for _, m in after_first] == [m for _, m in rows[1:]]


def test_the_same_decision_is_refused_the_second_time_with_nothing_of_that_commit_kept(
    app: ServiceApplication,
) -> None:
    again = decision(1)
    app.commit(decisions=[again], tracking=Tracking("in", 1))
    with pytest.raises(RecordConflictError):
        app.commit(decisions=[decision(2), again], tracking=Tracking("in", 2))
    assert len(app.outbox_after(0, 10)) == 1
    assert app.tracked_position("in") == 1


def test_an_older_stores_outbox_entries_move_into_the_table_once_with_the_relays_position(
    store: LaokeSettings,
) -> None:
    app = ServiceApplication(store, "box")
    entries = [
        OutboxEntry(message_id=uuid4(), subject=f"retention.d1.c{n}.X", body=f'{{"n":{n}}}')
        for n in range(3)
    ]
    letter = OutboxEntry(
        message_id=uuid4(),
        subject="dlq.box.bad",
        body="AHJhdw==",  # b"\x00raw"
        headers={"Laoke-Body-Encoding": "base64", "Nats-Msg-Id": "letter-1"},
    )
    recordings = app.events.put([e for a in [*entries, letter] for e in a.collect_events()])
    # the older relay had published the first two entries
    app.tracker.insert_tracking(Tracking(OLDER_RELAY, recordings[1].notification.id))
    app.close()

    app = ServiceApplication(store, "box")
    try:
        rows = app.outbox_after(0, 10)
        assert [m.subject for _, m in rows] == [*(e.subject for e in entries), "dlq.box.bad"]
        assert rows[0][1].headers["Nats-Msg-Id"] == str(entries[0].id)
        assert rows[3][1] == Outgoing("dlq.box.bad", b"\x00raw", {"Nats-Msg-Id": "letter-1"})
        assert app.tracked_position(OUTBOX_TRACKING) == rows[1][0], "the first two relayed"
        assert app.unrelayed()
    finally:
        app.close()

    app = ServiceApplication(store, "box")  # a second start adopts nothing again
    try:
        assert len(app.outbox_after(0, 10)) == 4
    finally:
        app.close()


def test_relayed_rows_keep_their_message_ids_and_nothing_of_their_bodies(
    app: ServiceApplication,
) -> None:
    first, second, third = decision(1), decision(2), decision(3)
    app.commit(decisions=[first, second, third], tracking=Tracking("in", 1))
    rows = app.outbox_after(0, 10)
    app.mark_relayed(0, rows[1][0])  # the relay published the first two
    assert app.tracked_position(OUTBOX_TRACKING) == rows[1][0]
    assert app.outbox_after(rows[1][0], 10) == rows[2:], "the next one is as it was"
    assert [(m.body, dict(m.headers)) for _, m in app.outbox_after(0, 2)] == [(b"", {})] * 2
    assert app.in_outbox(first.event_id), "still refused a second time"
    with pytest.raises(RecordConflictError):
        app.commit(decisions=[first], tracking=Tracking("in", 2))
