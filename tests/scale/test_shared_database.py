"""Processes that start together on one PostgreSQL database all create their tables."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from laoke.auth import KeyStore
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
