"""Generate docs/openapi.json (FastAPI) and docs/asyncapi.json from the code.

The services consume with nats-py (laoke/runner.py); faststream serves only to write the
AsyncAPI document, from channels declared here for what the services publish and consume.

    python -m laoke.apidocs docs   (what `make docs` runs)

The services are constructed (not started: nothing connects) in a temporary data folder, so
the documents describe exactly the routers and subscribers the running services have.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from faststream.nats import JStream, NatsBroker, PullSub
from faststream.specification import AsyncAPI

from events import EVENT_TYPES, INBOUND_TYPES
from laoke.clock import SystemClock
from laoke.dealerships import compose_dealers, save_compose
from laoke.dlq import REDRIVES, Redrive
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
        description="Dead letters: the original bytes and headers, with Laoke-Reason, "
        "Laoke-Error and (when known) Laoke-Dealership headers.",
    )
    broker.publisher(
        REDRIVES,
        title="RETENTION_DLQ/redriven",
        description="Ops re-drove a dead letter to DEALER_IN (`laoke dlq redrive`): who, "
        "when, which letter, the message it became.",
        schema=Redrive,
    )
    return broker


def _consumed_channels(running: list[tuple[ServiceEntry, Service]]) -> NatsBroker:
    """Every durable consumer the services run."""
    broker = NatsBroker()
    for _, service in running:
        for worker in getattr(service, "workers", []):
            durable = worker.consumer.durable
            broker.subscriber(
                durable.filter_subject,
                stream=JStream(durable.stream, declare=False),
                durable=durable.name,
                pull_sub=PullSub(batch_size=worker.consumer.batch_size, batch=True),
                title=f"{service.name}/{durable.stream}/{durable.name}",
                description=f"{service.name} consumes {durable.stream} (durable '{durable.name}').",
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
            spec = AsyncAPI(
                _inbound_channels(),
                _consumed_channels(running),
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
    compose_nats = folder.parent / "docker" / "nats"
    save_compose(compose_nats, compose_dealers(compose_nats))


if __name__ == "__main__":
    write_documents(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
