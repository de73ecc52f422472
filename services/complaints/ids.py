"""The ids and keys complaints names things by, each a function of what it names.

The aggregates' ids (uuid5 of dealership and complaint or customer id), the step-6
call-back's follow-up ids (they name the complaint, so an outcome finds it without an index;
see docs/complaints.md "Step 6: the call-back") and the keys of the deadlines a complaint
schedules (`APOLOGY`, `SLA`, `GENERAL_MANAGER`). Pure: no I/O.
"""

from __future__ import annotations

import re
from uuid import NAMESPACE_URL, UUID, uuid5

CALLBACK_PREFIX = "complaint-callback-"
APOLOGY = "complaint_apology"
SLA = "complaint_sla"
GENERAL_MANAGER = "complaint_general_manager"  # the second escalation level's due time


def complaint_aggregate_id(dealership_id: str, complaint_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:complaint:{dealership_id}:{complaint_id}")


def customer_complaints_id(dealership_id: str, customer_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"laoke:complaints-of:{dealership_id}:{customer_id}")


_CALLBACK_ID = re.compile(rf"^{CALLBACK_PREFIX}([0-9a-f-]{{36}})(?:-([2-9]|[1-9][0-9]+))?$")


def callback_follow_up_id(aggregate_id: UUID, attempt: int = 1) -> str:
    """The follow-up id of the step-6 call-back's `attempt` (the first has no suffix, later
    ones `-2`, `-3`, ...). It names the complaint, so no index is needed, and it is a function
    of complaint and attempt only, so a replayed or repeated outcome never adds an attempt."""
    first = f"{CALLBACK_PREFIX}{aggregate_id}"
    return first if attempt == 1 else f"{first}-{attempt}"


def complaint_of_callback(follow_up_id: str) -> UUID | None:
    """The complaint a call-back id (of any attempt) belongs to, or None if not ours."""
    found = _CALLBACK_ID.match(follow_up_id)
    if found is None:
        return None
    try:
        return UUID(found.group(1))
    except ValueError:
        return None


def deadline_key(aggregate_id: UUID, kind: str) -> str:
    return f"complaint:{aggregate_id}:{kind}"
