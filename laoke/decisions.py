"""Building decisions: deterministic ids and the audit links (correlation, causation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from events import Event, decision_uuid

E = TypeVar("E", bound=Event)


class CauseLike(Protocol):
    """What a decision needs of its cause: an Event, or a `Cause` kept in an aggregate."""

    @property
    def event_id(self) -> UUID: ...
    @property
    def correlation_id(self) -> UUID | None: ...
    @property
    def dealership_id(self) -> str: ...
    @property
    def customer_id(self) -> str | None: ...


@dataclass(frozen=True)
class Cause:
    """A cause remembered in aggregate state, e.g. for a decision a deadline fires later."""

    event_id: UUID
    correlation_id: UUID | None
    dealership_id: str
    customer_id: str | None

    @classmethod
    def of(cls, event: Event) -> Cause:
        return cls(event.event_id, event.correlation_id, event.dealership_id, event.customer_id)


def decision_id(cause_id: UUID, name: str) -> UUID:
    """The id of the decision `name` taken because of `cause_id`: the same every time, so a
    retried or replayed decision is recognised as the same one (here and by JetStream)."""
    return decision_uuid(cause_id, name)


def decision(
    model: type[E],
    cause: CauseLike,
    *,
    source: str,
    occurred_at: datetime,
    name: str = "",
    customer_id: str | None = None,
    **payload: Any,
) -> E:
    """A decision of type `model` caused by `cause`.

    `name` distinguishes several decisions of one type caused by the same event (e.g. the
    7-day and the 3-month call after one purchase). The correlation id is carried along
    from the cause (the inbound event that started the chain).
    """
    return model.model_validate(
        {
            "event_id": decision_id(cause.event_id, f"{model.type_name()}:{name}"),
            "event_type": model.type_name(),
            "occurred_at": occurred_at,
            "dealership_id": cause.dealership_id,
            "source": source,
            "customer_id": customer_id or cause.customer_id,
            "correlation_id": cause.correlation_id or cause.event_id,
            "causation_id": cause.event_id,
            **payload,
        },
        context={"trusted": True},
    )
