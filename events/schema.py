"""JSON Schema export: `python -m events.schema docs/schemas`.

Writes one `<EventType>.json` per event type (the validation schema: what a valid message
looks like) and `index.json` listing them. The checked-in copies are tested to be current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from events.envelope import CURRENT_SCHEMA_VERSION, RECORDED_ONLY_FIELDS
from events.registry import CONTRACT_INBOUND_TYPES, EVENT_TYPES, INBOUND_TYPES
from events.subjects import DEALER_IN_SUBJECTS, DLQ_SUBJECTS, MAX_MESSAGE_BYTES, RETENTION_SUBJECTS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_schemas() -> dict[str, str]:
    """File name -> file text, for every event type and the index."""
    files: dict[str, str] = {}
    for name, model in sorted(EVENT_TYPES.items()):
        schema = model.model_json_schema(mode="validation")
        schema["$schema"] = SCHEMA_DIALECT
        schema["$id"] = f"{name}.json"
        files[f"{name}.json"] = _render(schema)
    index = {
        "schema_version": CURRENT_SCHEMA_VERSION,
        "max_message_bytes": MAX_MESSAGE_BYTES,
        "subjects": {
            "inbound": DEALER_IN_SUBJECTS.replace(">", "<dealership_id>.<EventType>"),
            "recorded": RETENTION_SUBJECTS.replace(
                ">", "<dealership_id>.<customer_id>.<EventType>"
            ),
            "dead_letters": DLQ_SUBJECTS.replace(">", "<service>.<reason>"),
        },
        "recorded_only_fields": list(RECORDED_ONLY_FIELDS),
        "types": [
            {
                "event_type": name,
                "schema": f"{name}.json",
                "inbound": name in INBOUND_TYPES,
                "in_contract": name in CONTRACT_INBOUND_TYPES,
                "description": (EVENT_TYPES[name].__doc__ or "").strip().split("\n\n")[0],
            }
            for name in sorted(EVENT_TYPES)
        ],
    }
    files["index.json"] = _render(index)
    return files


def write_schemas(directory: Path) -> list[Path]:
    """Write the schemas into `directory`, removing stale `*.json` files; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    files = build_schemas()
    for stale in directory.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m events.schema <directory>", file=sys.stderr)
        return 2
    written = write_schemas(Path(args[0]))
    print(f"wrote {len(written)} files to {args[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
