"""The handler table: every event type has a projection, typed with its own event class."""

from __future__ import annotations

import inspect
import typing

from events import EVENT_TYPES
from services.projections.projector import HANDLERS


def test_every_event_type_has_a_handler() -> None:
    # projector.py also refuses to import without one; this names the gap in a test run.
    assert set(HANDLERS) == set(EVENT_TYPES)


def test_each_handler_takes_its_event_class() -> None:
    wrong = {}
    for event_type, handler in HANDLERS.items():
        name = list(inspect.signature(handler).parameters)[1]
        annotation = typing.get_type_hints(handler)[name]
        if not issubclass(EVENT_TYPES[event_type], annotation):
            wrong[event_type] = f"{handler.__module__}.{handler.__name__}: {annotation}"
    assert not wrong, wrong
