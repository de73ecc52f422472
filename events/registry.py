"""The one table of event types: name -> model."""

from __future__ import annotations

from events.envelope import Event, InboundEvent, RecordedEvent
from events.inbound import ALL_INBOUND, CONTRACT_INBOUND
from events.recorded import ALL_RECORDED_ONLY


def _table(models: tuple[type[Event], ...]) -> dict[str, type[Event]]:
    table: dict[str, type[Event]] = {}
    for model in models:
        name = model.type_name()
        if name != model.__name__ or name in table:
            raise RuntimeError(f"event model {model.__name__} is misnamed or registered twice")
        table[name] = model
    return table


EVENT_TYPES: dict[str, type[Event]] = _table(ALL_INBOUND + ALL_RECORDED_ONLY)
"""Every event type, inbound and recorded-only, by its `event_type` name."""

INBOUND_TYPES: frozenset[str] = frozenset(m.type_name() for m in ALL_INBOUND)
"""The types other systems may send (the contract's 16 plus the additive extensions)."""

CONTRACT_INBOUND_TYPES: frozenset[str] = frozenset(m.type_name() for m in CONTRACT_INBOUND)
"""The 16 inbound types the dealership systems were promised (docs/contract.md §1)."""

RECORDED_ONLY_TYPES: frozenset[str] = frozenset(m.type_name() for m in ALL_RECORDED_ONLY)
"""Decisions only the services record; refused inbound."""


def type_names(models: tuple[type[Event], ...]) -> frozenset[str]:
    """The names of every registered type that is one of `models` or derives from one (e.g.
    `InboundEvent`): what a handler dispatching by `isinstance(event, models)` acts on."""
    return frozenset(name for name, model in EVENT_TYPES.items() if issubclass(model, models))


def inbound_model(event_type: str) -> type[InboundEvent] | None:
    model = EVENT_TYPES.get(event_type)
    return model if model is not None and issubclass(model, InboundEvent) else None


def recorded_only_model(event_type: str) -> type[RecordedEvent] | None:
    model = EVENT_TYPES.get(event_type)
    return model if model is not None and issubclass(model, RecordedEvent) else None
