"""Helpers for the referrals tests: recorded events as intake records them, and waiting."""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeVar

from events import Event, parse_recorded
from events.factories import sample_inbound

D = "demo-4s"
REFERRER_PHONE = "13900139000"
REFEREE_PHONE = "13800138000"
REFERRER_VIN = "LFV2A21K5J3000001"
REFEREE_VIN = "LSGKB54E7LS123456"
T = TypeVar("T")


def recorded(event_type: str, customer_id: str, **overrides: Any) -> Event:
    """An inbound event as intake records it on RETENTION (customer id and audit links)."""
    raw = sample_inbound(event_type, **overrides)
    raw |= {"customer_id": customer_id, "correlation_id": raw["event_id"]}
    raw["causation_id"] = raw["event_id"]
    return parse_recorded(json.dumps(raw, ensure_ascii=False).encode())


def claim(
    referral_id: str,
    *,
    at: str,
    vin: str | None = REFEREE_VIN,
    phone: str = REFERRER_PHONE,
    model: str = "Jetta",
    colour: str = "black",
    referee_phone: str = REFEREE_PHONE,
) -> dict[str, Any]:
    """The overrides of a `ReferralClaimed` (for `recorded` or `sample_inbound`)."""
    return {
        "referral_id": referral_id,
        "occurred_at": at,
        "customer": {"phone": referee_phone},
        "referrer": {
            "name": "王强",
            "phone": phone,
            "vehicle_model": model,
            "vehicle_colour": colour,
        },
        "vin": vin,
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"claim:{referral_id}:{at}")),
    }


def callback(referral_id: str, wrong: int, *, at: str, phone: str) -> dict[str, Any]:
    questions = [{"correct": i >= wrong} for i in range(4 if wrong > 2 else 3)]
    return {
        "referral_id": referral_id,
        "questions": questions,
        "occurred_at": at,
        "customer": {"phone": phone},
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"callback:{referral_id}:{at}")),
    }
