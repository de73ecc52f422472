"""The dead-letter store applies RETENTION_DLQ exactly once in effect: a re-drive is tied to
the letter it became whichever reached the stream first, each partition keeps its own
dealerships' letters, and letters the stream no longer keeps leave the tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from laoke.dlq import DEALERSHIP, Redrive, dead_letter
from laoke.partitions import WHOLE, Partition, partition_of
from laoke.settings import LaokeSettings
from laoke.streams import DLQ_MAX_AGE_S
from services.projections.deadletters import queries
from services.projections.deadletters.models import DeadLetterPublic
from services.projections.deadletters.store import CONSUMER, DeadLetterStore, Letter, apply_letters

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(settings: LaokeSettings) -> Iterator[DeadLetterStore]:
    opened = DeadLetterStore(settings)
    yield opened
    opened.close()


def refused(seq: int, origin: str, dealership: str = "a", at: datetime = AT) -> Letter:
    out = dead_letter(
        "intake",
        "bad_enum",
        "visit_kind: no",
        b'{"event_id": "e-1"}',
        {"X-Trace": "t"},
        origin=origin,
        subject=f"dealer.in.{dealership}.CustomerVisited",
        dealership=dealership,
    )
    return Letter(seq, out.subject, dict(out.headers), out.body, at)


def redriven(seq: int, letter: int, dealer_in: int, attempt: int = 2) -> Letter:
    note = Redrive(
        letter=letter,
        dealership_id="a",
        redriven_as=f"DEALER_IN:{dealer_in}",
        subject="dealer.in.a.CustomerVisited",
        by="ops",
        at=AT,
        attempt=attempt,
        body="original",
        sha256="0" * 64,
    ).message(f"n-{seq}")
    return Letter(seq, note.subject, dict(note.headers), note.body, AT)


def page(store: DeadLetterStore, dealership: str = "a") -> list[tuple[int, int, int | None]]:
    query = queries.LetterQuery(now=AT, limit=100, dealership_id=dealership)
    letters, _ = queries.letter_page(store, query)
    return [(letter.seq, letter.attempt, letter.redrive_of) for letter in letters]


def tables(store: DeadLetterStore) -> list[list[tuple[object, ...]]]:
    return [store.query(f"SELECT * FROM {t} ORDER BY seq") for t in ("dead_letters", "redrives")]


def shown(store: DeadLetterStore, seq: int) -> DeadLetterPublic:
    found = queries.letter(store, seq, None, None)
    assert found is not None
    return found


@pytest.mark.parametrize("note_first", [True, False])
def test_a_redrive_refused_again_is_tied_to_its_letter_in_either_order(
    store: DeadLetterStore, note_first: bool
) -> None:
    first = refused(1, "DEALER_IN:10")
    if note_first:
        note, again = redriven(2, letter=1, dealer_in=11), refused(3, "DEALER_IN:11")
        apply_letters(store, [first, note], WHOLE, 2)
        apply_letters(store, [again], WHOLE, 3)
    else:  # intake refused the re-driven message before ops' record reached the stream
        again, note = refused(2, "DEALER_IN:11"), redriven(3, letter=1, dealer_in=11)
        apply_letters(store, [first, again], WHOLE, 2)
        apply_letters(store, [note], WHOLE, 3)
    assert page(store) == [(again.seq, 2, 1), (1, 1, None)]
    (redrive,) = shown(store, 1).redrives
    assert (redrive.failed_as, redrive.attempt, redrive.by) == (again.seq, 2, "ops")
    assert shown(store, again.seq).redrives == []


def test_a_run_applied_again_changes_nothing(store: DeadLetterStore) -> None:
    run = [refused(1, "DEALER_IN:1"), redriven(2, letter=1, dealer_in=5)]
    apply_letters(store, run, WHOLE, 2)
    before = tables(store)
    apply_letters(store, run, WHOLE, 2)  # redelivered after a crash before the ack
    assert tables(store) == before
    assert store.position(CONSUMER) == 2


def test_each_partition_keeps_its_own_dealerships_letters(store: DeadLetterStore) -> None:
    dealerships = [f"d{n}" for n in range(8)]
    run = [refused(n + 1, f"DEALER_IN:{n + 1}", d) for n, d in enumerate(dealerships)]
    nobody = dead_letter("intake", "bad_json", "?", b"{", {DEALERSHIP: "d0"}, origin="http:x:0")
    run.append(Letter(9, nobody.subject, dict(nobody.headers), nobody.body, AT))
    partitions = [Partition(k, 2) for k in range(2)]
    for partition in partitions:
        apply_letters(store, run, partition, 9)
        assert store.position(partition.durable(CONSUMER)) == 9
    kept = dict(store.query("SELECT seq, dealership_id FROM dead_letters"))
    assert kept == {n + 1: d for n, d in enumerate(dealerships)} | {9: None}, (
        "each letter once, and a sender's own header names no dealership"
    )
    assert {partition_of(d, 2) for d in dealerships} == {0, 1}, "both partitions had some"


def test_letters_the_stream_no_longer_keeps_leave_the_tables(store: DeadLetterStore) -> None:
    old = refused(1, "DEALER_IN:1", at=AT)
    later = AT + timedelta(seconds=DLQ_MAX_AGE_S + 1)
    apply_letters(store, [old, redriven(2, letter=1, dealer_in=3)], WHOLE, 2)
    apply_letters(store, [refused(3, "DEALER_IN:4", at=later)], WHOLE, 3)
    assert [seq for (seq,) in store.query("SELECT seq FROM dead_letters")] == [3]
    assert store.query("SELECT * FROM redrives") == []
