"""Following merges to the surviving customer: how every service reads a customer id.

Intake merges customers it finds to be one person (`CustomersMerged`); the merged ids stay on
earlier events. Each service keeps, in its own state, which customer a merged one went into
(`merged_into`); this is the one rule for following those links to the customer an id now
stands for.
"""

from __future__ import annotations

from collections.abc import Callable


def survivor(customer_id: str, merged_into: Callable[[str], str | None]) -> str:
    """The customer `customer_id` stands for: `merged_into(id)` followed until a customer
    not merged. A cycle (which intake never records) stops at the first id seen twice."""
    seen: set[str] = set()
    while customer_id not in seen and (next_id := merged_into(customer_id)):
        seen.add(customer_id)
        customer_id = next_id
    return customer_id
