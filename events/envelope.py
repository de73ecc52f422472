"""The envelope every event carries, and the customer identity hints.

`Event` is the base of every model. `InboundEvent` is the base of what other systems may
send (docs/contract.md §1); `RecordedEvent` the base of decisions only the services record.

Recorded-only envelope fields (`customer_id`, `correlation_id`, `causation_id`,
`received_at`) exist on every model, default None: intake fills them in when it records an
inbound event on RETENTION; `events.parsing.parse_inbound` refuses a sender that sets them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from events.fields import (
    PERSONAL,
    Channel,
    CustomerId,
    DealershipId,
    EntityId,
    Money,
    Name,
    Phone,
    ShortText,
    Source,
    StaffId,
    Vin,
)

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "EARLIEST_OCCURRED_AT",
    "FUTURE_TOLERANCE",
    "RECORDED_ONLY_FIELDS",
    "Channel",
    "CustomerHints",
    "CustomerId",
    "DealershipId",
    "EntityId",
    "Event",
    "InboundEvent",
    "Money",
    "RecordedEvent",
    "StaffId",
    "Vin",
]

CURRENT_SCHEMA_VERSION = 1
EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(hours=24)
RECORDED_ONLY_FIELDS: tuple[str, ...] = (
    "customer_id",
    "correlation_id",
    "causation_id",
    "received_at",
)

_RECORDED_ONLY = "Set by the services when recording on RETENTION; refused from senders."

FROZEN = ConfigDict(frozen=True, extra="forbid")


class CustomerHints(BaseModel):
    """Who the event is about, as the sender knows them: at least one of phone, vin,
    external_id. Intake resolves these to a canonical `customer_id`."""

    model_config = FROZEN

    phone: Annotated[Phone | None, PERSONAL] = None
    vin: Vin | None = None
    external_id: Annotated[ShortText | None, PERSONAL] = None
    name: Annotated[Name | None, PERSONAL] = None

    @model_validator(mode="after")
    def _needs_identity(self) -> CustomerHints:
        if self.phone is None and self.vin is None and self.external_id is None:
            raise PydanticCustomError(
                "no_identity", "needs at least one of phone, vin, external_id"
            )
        return self


def _now_from(info: ValidationInfo) -> datetime | None:
    """The "now" to check against, or None when the future check is off (trusted input)."""
    context = info.context if isinstance(info.context, dict) else {}
    if context.get("trusted"):
        return None
    now = context.get("now")
    if isinstance(now, datetime):
        return now
    return datetime.now(UTC)


class Event(BaseModel):
    """The envelope shared by every event, inbound or recorded."""

    model_config = FROZEN

    # Recorded decisions may be written by services with clocks that tests move; the
    # future-time check applies to what other systems send (see `InboundEvent`).
    check_future: ClassVar[bool] = True

    event_id: UUID
    event_type: str
    schema_version: Literal[1] = 1
    occurred_at: AwareDatetime
    dealership_id: DealershipId
    source: Source
    customer: CustomerHints | None = None

    # Set by the services when recording; refused from senders.
    customer_id: CustomerId | None = Field(None, description=_RECORDED_ONLY)
    correlation_id: UUID | None = Field(None, description=_RECORDED_ONLY)
    causation_id: UUID | None = Field(None, description=_RECORDED_ONLY)
    received_at: AwareDatetime | None = Field(
        None,
        description="When laoke received an inbound event (intake sets it when recording; "
        "decisions leave it out). " + _RECORDED_ONLY,
    )

    @field_validator("occurred_at")
    @classmethod
    def _sane_time(cls, value: datetime, info: ValidationInfo) -> datetime:
        if value < EARLIEST_OCCURRED_AT:
            raise PydanticCustomError("bad_timestamp", "timestamp is before 2000-01-01T00:00Z")
        now = _now_from(info) if cls.check_future else None
        if now is not None and value > now + FUTURE_TOLERANCE:
            raise PydanticCustomError(
                "bad_timestamp",
                "timestamp is more than 24 hours in the future (now is {now})",
                {"now": now.isoformat()},
            )
        return value

    @classmethod
    def type_name(cls) -> str:
        """The `event_type` this model carries (its Literal default)."""
        default: Any = cls.model_fields["event_type"].default
        if not isinstance(default, str):
            raise TypeError(f"{cls.__name__} has no fixed event_type")
        return default


class InboundEvent(Event):
    """Something another system tells us (docs/contract.md §1); the customer hints are required."""

    customer: CustomerHints


class RecordedEvent(Event):
    """A decision a service records on RETENTION; never accepted from outside.

    `customer` hints may be omitted; the canonical `customer_id` and the audit links
    `correlation_id` (the inbound event that started the chain) and `causation_id` (the
    event that directly caused this one) are required.
    """

    check_future: ClassVar[bool] = False

    customer_id: CustomerId = Field(description="The canonical customer this is about.")
    correlation_id: UUID = Field(description="The inbound event that started the chain.")
    causation_id: UUID = Field(description="The event that directly caused this one.")
