"""The checked-in JSON Schemas under docs/schemas/ match the models."""

from __future__ import annotations

import json
from pathlib import Path

from events import EVENT_TYPES
from events.schema import write_schemas

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_schema_export_is_up_to_date(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    fresh = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.json")}
    current = {p.name: p.read_text(encoding="utf-8") for p in CHECKED_IN.glob("*.json")}
    stale = sorted(
        name for name in fresh.keys() | current.keys() if fresh.get(name) != current.get(name)
    )
    assert not stale, (
        f"docs/schemas is out of date ({stale}): run `python -m events.schema docs/schemas`"
    )


def test_one_schema_per_type() -> None:
    index = json.loads((CHECKED_IN / "index.json").read_text(encoding="utf-8"))
    assert [t["event_type"] for t in index["types"]] == sorted(EVENT_TYPES)
    for entry in index["types"]:
        schema = json.loads((CHECKED_IN / entry["schema"]).read_text(encoding="utf-8"))
        assert schema["title"] == entry["event_type"]
        assert schema["additionalProperties"] is False
