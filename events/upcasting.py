"""Old schema versions are upgraded to the current one before validation.

Today only version 1 exists, so `UPCASTERS` is empty. When a type's payload changes
incompatibly:

1. bump `events.envelope.CURRENT_SCHEMA_VERSION` to 2 and `Event.schema_version` to
   `Literal[2]`, change the model;
2. add `UPCASTERS[("TheType", 1)] = fn`, where `fn` takes a version-1 dict and returns a
   version-2 dict. Types that did not change need no upcaster: `upcast` just raises
   their version number.

Recorded history is never rewritten: RETENTION keeps v1 bytes forever and readers upcast
on the way in (`events.parsing.parse_recorded` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.envelope import CURRENT_SCHEMA_VERSION
from events.errors import Rejected

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(event_type, from_version) -> function returning the dict at from_version + 1."""


def upcast(raw: dict[str, Any]) -> dict[str, Any]:
    """Return `raw` at the current schema version, or raise `Rejected`."""
    if "schema_version" not in raw:
        raise Rejected("missing_field", "schema_version: field required", "schema_version")
    version = raw["schema_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise Rejected("wrong_type", "schema_version: should be an integer", "schema_version")
    if version < 1 or version > CURRENT_SCHEMA_VERSION:
        raise Rejected(
            "unsupported_version",
            f"schema_version: {version} is not supported (1 to {CURRENT_SCHEMA_VERSION})",
            "schema_version",
        )
    event_type = raw.get("event_type")
    while version < CURRENT_SCHEMA_VERSION:
        step = UPCASTERS.get((str(event_type), version))
        raw = step(raw) if step is not None else {**raw}
        version += 1
        raw["schema_version"] = version
    return raw
