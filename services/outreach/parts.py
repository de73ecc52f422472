"""The parts of a contact plan (aggregates.py): a follow-up, a vehicle, a person to greet.
Plain values, kept in the plan's state and handed between plans as dicts on a merge."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any


@dataclass
class FollowUp:
    """One planned contact. `attempt` > 1 for retries, which keep the first one's `root_id`."""

    follow_up_id: str
    reason: str
    due_at: datetime
    channel: str
    source: str
    status: str = "due"  # due | done | cancelled | expired
    attempt: int = 1
    root_id: str = ""
    outcome: str | None = None
    expires_at: datetime | None = None  # none for other services' contacts and older plans
    vin: str | None = None  # the car a purchase call (moved to its delivery) or reminder is about
    # A contact another service requested (ContactRequested): the request's event and
    # correlation ids, so a later refusal is recorded with the same id however it comes.
    request_id: str | None = None
    request_correlation_id: str | None = None
    complaint_id: str | None = None
    referral_id: str | None = None
    origin: str | None = None  # the event it was planned because of (laoke/merges.py)

    def to_dict(self) -> dict[str, Any]:
        # Its fields in order, as `asdict` gave them, without its deep copy of each value
        # (all immutable), which cost more than the rest of recording the contact.
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        expires = self.expires_at.isoformat() if self.expires_at else None
        return values | {"due_at": self.due_at.isoformat(), "expires_at": expires}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FollowUp:
        expires = data.get("expires_at")
        return cls(
            **(
                data
                | {
                    "due_at": datetime.fromisoformat(data["due_at"]),
                    "expires_at": datetime.fromisoformat(expires) if expires else None,
                }
            )
        )


@dataclass
class Vehicle:
    vin: str
    purchased_at: datetime | None = None
    delivered_at: datetime | None = None
    mileage: list[tuple[datetime, int]] = field(default_factory=list)  # service visits

    def to_dict(self) -> dict[str, Any]:
        return {
            "vin": self.vin,
            "purchased_at": self.purchased_at.isoformat() if self.purchased_at else None,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "mileage": [[at.isoformat(), km] for at, km in self.mileage],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vehicle:
        def when(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            data["vin"],
            when(data["purchased_at"]),
            when(data["delivered_at"]),
            [(datetime.fromisoformat(at), int(km)) for at, km in data["mileage"]],
        )


@dataclass(frozen=True)
class Person:
    """Someone to greet on their birthday: the customer ('self') or a family member."""

    relation: str
    name: str
    birthday: date

    @property
    def slot(self) -> str:
        return f"birthday:{self.relation}:{self.name}"
