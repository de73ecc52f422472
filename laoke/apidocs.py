"""Generate docs/openapi.json (FastAPI) and docs/asyncapi.json (faststream) from the code.

    python -m laoke.apidocs docs

The services are constructed (not started: nothing connects) in a temporary data folder, so
the documents describe exactly the routers and subscribers the running services have.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI

from events import EVENT_TYPES, INBOUND_TYPES
from laoke.clock import SystemClock
from laoke.http import build_http_app
from laoke.registry import SERVICES, Service, ServiceEntry
from laoke.settings import LaokeSettings


def _build_services(data_dir: Path) -> list[tuple[ServiceEntry, Service]]:
    settings = LaokeSettings(data_dir=data_dir, nats_url="nats://127.0.0.1:4222")
    return [(entry, entry.build(settings, SystemClock())) for entry in SERVICES]


def _close(running: list[tuple[ServiceEntry, Service]]) -> None:
    for _, service in running:
        app = getattr(service, "app", None)
        if app is not None and hasattr(app, "close"):
            app.close()


def _recorded_channels() -> NatsBroker:
    """What is published on RETENTION (by intake's and the services' outboxes) and the DLQ."""
    broker = NatsBroker()
    for name, model in sorted(EVENT_TYPES.items()):
        origin = "intake (inbound fact)" if name in INBOUND_TYPES else "a service's decision"
        broker.publisher(
            f"retention.{{dealership_id}}.{{customer_id}}.{name}",
            title=f"RETENTION/{name}",
            description=f"{name}, recorded once by {origin}; Nats-Msg-Id = event_id.",
            schema=model,
        )
    broker.publisher(
        "dlq.{service}.{reason}",
        title="RETENTION_DLQ",
        description="Dead letters: the original bytes and headers, with Laoke-Reason and "
        "Laoke-Error headers.",
    )
    return broker


def _inbound_channels() -> NatsBroker:
    broker = NatsBroker()
    for name in sorted(INBOUND_TYPES):
        broker.publisher(
            f"dealer.in.{{dealership_id}}.{name}",
            title=f"DEALER_IN/{name}",
            description=f"Dealership systems publish {name} here (captured by DEALER_IN).",
            schema=EVENT_TYPES[name],
        )
    return broker


def build_documents() -> tuple[dict[str, Any], dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        running = _build_services(Path(tmp))
        try:
            openapi = build_http_app(running).openapi()
            brokers: list[Any] = [b for _, s in running if (b := getattr(s, "broker", None))]
            spec = AsyncAPI(
                _inbound_channels(),
                *brokers,
                _recorded_channels(),
                title="laoke",
                version="1.0",
                description="老客: the NATS side of the contract (subjects, streams, events).",
            )
            asyncapi = json.loads(spec.to_specification().to_json())
        finally:
            _close(running)
    return openapi, asyncapi


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_documents(folder: Path) -> None:
    openapi, asyncapi = build_documents()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "openapi.json").write_text(render(openapi))
    (folder / "asyncapi.json").write_text(render(asyncapi))


if __name__ == "__main__":
    write_documents(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
