"""Collect hypothesis examples into a list, and poll for a condition (never sleep)."""

from __future__ import annotations

import os
from typing import TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

T = TypeVar("T")

# Derandomized by default so CI sees the same examples every run; LAOKE_FUZZ_RANDOM=1 explores.
DERANDOMIZE = os.environ.get("LAOKE_FUZZ_RANDOM") != "1"


def collect(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """Up to `count` examples of `strategy`, drawn by hypothesis's own engine.

    The end-to-end tests send their examples as one batch (one intake run, one wait), so
    they draw them here first: an inner `@given` function that only records what it is
    given. Generation only (no shrinking: nothing can fail in it), no example database.
    """
    found: list[T] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def gather(example: T) -> None:
        found.append(example)

    gather()
    return found
