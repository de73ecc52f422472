"""A plan's deadline slots (pure): their keys, and which one its one deadline fires next.

Each slot of a contact plan (`reengage`, `birthday:…`, `holiday:…`, `service:<vin>`,
`inspection:<vin>`, `insurance:<vin>`, `expire:<follow_up_id>`) is due at one time; the
plan has one `Deadline`, due at its earliest slot. A slot's key says when it is due and
numbers it, so that slots due at the same moment fire in the order the per-slot deadlines
of earlier versions fired in (by `deadline_id` of the key, as the ticker's index orders).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from uuid import UUID

from laoke.deadlines import deadline_id


def slot_key(plan: UUID, slot: str, due_at: str, seq: int) -> str:
    """The key of `slot` scheduled at `due_at` (ISO) as the plan's `seq`-th."""
    return f"outreach|{plan}|{slot}|{due_at}|{seq}"


def slot_due(key: str) -> str:
    """When the slot of `key` is due (ISO)."""
    return key.rsplit("|", 2)[-2]


def plan_deadline_key(plan: UUID) -> str:
    """The key of the plan's one deadline."""
    return f"outreach|{plan}"


@lru_cache(maxsize=16384)  # pure; a plan's keys are read at each of its messages and deadlines
def due_of(key: str) -> datetime:
    """When the slot of `key` is due."""
    return datetime.fromisoformat(slot_due(key))


def next_slot(deadlines: dict[str, str]) -> tuple[str, datetime] | None:
    """Of a plan's slots (slot -> key), the one to fire first and its time: the earliest,
    ties broken by `deadline_id` of the key; None without slots."""
    first: datetime | None = None
    tied: list[str] = []
    for slot, key in deadlines.items():
        at = due_of(key)
        if first is None or at < first:
            first, tied = at, [slot]
        elif at == first:
            tied.append(slot)
    if first is None:
        return None
    if len(tied) > 1:
        tied.sort(key=lambda slot: deadline_id(deadlines[slot]))
    return tied[0], first
