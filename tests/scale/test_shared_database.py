"""Processes that start together on one PostgreSQL database all create their tables."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from laoke.auth import KeyStore
from laoke.dlq import dead_letter
from laoke.eventstore import ServiceApplication
from laoke.settings import LaokeSettings
from services.projections.store import ReadStore


def test_services_starting_at_once_on_one_database_all_create_their_tables(
    settings: LaokeSettings,
) -> None:
    if settings.store != "postgres":
        pytest.skip("a PostgreSQL race: runs with LAOKE_TEST_POSTGRES_DSN")
    starters: list[Callable[[], object]] = [
        *(lambda i=i: ServiceApplication(settings, f"service{i}") for i in range(6)),
        lambda: ReadStore(settings),
        lambda: ReadStore(settings),
        lambda: KeyStore(settings),
        lambda: KeyStore(settings),
    ]
    together = threading.Barrier(len(starters))

    def start(starter: Callable[[], object]) -> object:
        together.wait()
        return starter()

    with ThreadPoolExecutor(len(starters)) as pool:
        started = list(pool.map(start, starters))  # re-raises the first failure
    for thing in started:
        if isinstance(thing, ServiceApplication | ReadStore):
            thing.close()


def test_a_commit_of_twenty_megabytes_is_written_on_postgresql(settings: LaokeSettings) -> None:
    """A batch of dead letters keeps each original message (up to 1 MiB): psycopg's pipeline
    mode left such a commit half-sent and waited forever (laoke/pgrecorder.py)."""
    if settings.store != "postgres":
        pytest.skip("a PostgreSQL driver bug: runs with LAOKE_TEST_POSTGRES_DSN")
    app = ServiceApplication(settings, "big")
    letters = [
        dead_letter("big", "oversize", "too big", bytes([n]) * 1024 * 1024, {}, origin=f"t:{n}")
        for n in range(20)
    ]
    written = threading.Event()

    def commit() -> None:
        app.commit(letters=letters)
        written.set()

    worker = threading.Thread(target=commit, daemon=True)  # a hang must not hang pytest
    worker.start()
    worker.join(60)
    try:
        assert written.is_set(), "the 20 MB commit did not finish in 60 s"
        stored = app.outbox_after(0, 100)
        assert [m for _, m in stored] == letters
    finally:
        if written.is_set():
            app.close()
