"""Workshop settings: docs/domain.md's dispatch priority by default, overridable per dealership."""

from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.fields import Channel
from events.inbound import ArrivalKind
from laoke.policy import DealershipOverrides

ARRIVAL_KINDS: tuple[ArrivalKind, ...] = get_args(ArrivalKind)
# docs/domain.md "Service reception" (004): rework, emergencies, appointments, customers waiting
# on site, VIP, walk-ins. (The Literal lists them in that order too.)
DEFAULT_PRIORITY: tuple[ArrivalKind, ...] = (
    "rework",
    "emergency",
    "appointment",
    "waiting",
    "vip",
    "walk_in",
)


def _permutation(value: list[ArrivalKind]) -> list[ArrivalKind]:
    if sorted(value) != sorted(ARRIVAL_KINDS):
        raise ValueError(f"priority must list each arrival kind once: {', '.join(ARRIVAL_KINDS)}")
    return value


class Policy(BaseModel):
    """What a dealership may set for its own workshop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    priority: list[ArrivalKind] = Field(
        default_factory=lambda: list(DEFAULT_PRIORITY),
        description="Arrival kinds, first dispatched first.",
    )
    scope_contact_channel: Channel = Field(
        "phone", description="Channel of the contact a scope change makes due."
    )

    _check_priority = field_validator("priority")(_permutation)

    def rank(self, kind: ArrivalKind) -> int:
        return self.priority.index(kind)


class WorkshopSettings(Policy, DealershipOverrides[Policy], BaseSettings):
    """`LAOKE_WORKSHOP_*` environment variables; `dealerships` overrides per dealership id."""

    model_config = SettingsConfigDict(env_prefix="LAOKE_WORKSHOP_", extra="ignore", frozen=True)
