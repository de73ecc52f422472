"""Tracing (laoke/tracing.py) on a real nats-server: one inbound event's spans, from the HTTP
request or a DEALER_IN message through intake to complaints, outreach and projections,
form one trace linked by the recorded events' correlation and causation ids. A deciding
service traces only the types its handler acts on: it passes over the others unread."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from nats.js import JetStreamContext
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    SpanContext,
    StatusCode,
    TraceFlags,
    format_span_id,
    format_trace_id,
)
from waiting import wait_for

from events import Event, parse_recorded
from events.factories import sample_inbound
from laoke import tracing
from laoke.clock import ManualClock
from laoke.http import build_http_app
from laoke.registry import Service, entry
from laoke.service import RetentionService
from laoke.settings import LaokeSettings
from laoke.streams import RETENTION

HANDLERS = ("complaints", "outreach", "projections")  # the services consuming RETENTION here


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure(LaokeSettings(), exporter)
    yield exporter
    tracing.shutdown()


@pytest.fixture
async def running(
    spans: InMemorySpanExporter, settings: LaokeSettings, clock: ManualClock, js: JetStreamContext
) -> AsyncIterator[dict[str, Service]]:
    """Intake and the services of HANDLERS, started after tracing was turned on."""
    services: dict[str, Service] = {}
    for name in (*HANDLERS, "intake"):
        services[name] = entry(name).build(settings, clock)
        await services[name].start()
    yield services
    for service in reversed(services.values()):
        await service.stop()


def complaint(clock: ManualClock) -> dict[str, Any]:
    return sample_inbound(
        "ComplaintFiled", event_id=str(uuid4()), occurred_at=clock.now().isoformat()
    )


async def chain(js: JetStreamContext, correlation_id: UUID) -> list[Event]:
    """The events on RETENTION that `correlation_id` started, in stream order."""
    last = (await js.stream_info(RETENTION)).state.last_seq
    found = []
    for seq in range(1, last + 1):
        event = parse_recorded((await js.get_msg(RETENTION, seq)).data or b"")
        if event.correlation_id == correlation_id:
            found.append(event)
    return found


def reads(service: Service, event_type: str) -> bool:
    """Whether `service` reads (so traces) events of that type (laoke/consumer.py)."""
    handles = service.consumer.handles if isinstance(service, RetentionService) else None
    return handles is None or event_type in handles


def attr(span: ReadableSpan, key: str) -> Any:
    return (span.attributes or {})[key]


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


def by_name(spans: list[ReadableSpan]) -> dict[tuple[str, str], ReadableSpan]:
    """Each span by (its service, its name)."""
    return {(service_of(s), s.name): s for s in spans}


async def the_trace(
    js: JetStreamContext,
    exporter: InMemorySpanExporter,
    correlation_id: UUID,
    services: dict[str, Service],
) -> tuple[list[Event], list[ReadableSpan]]:
    """Once each service of HANDLERS has a span for each event of the chain it reads: the
    chain and the trace's spans (the trace id is the correlation id)."""

    async def complete() -> tuple[list[Event], list[ReadableSpan]] | None:
        events = await chain(js, correlation_id)
        spans = [
            s
            for s in exporter.get_finished_spans()
            if s.context is not None and s.context.trace_id == correlation_id.int
        ]
        named = by_name(spans)
        wanted = {
            (f"laoke-{h}", f"handle {e.event_type}")
            for e in events
            for h in HANDLERS
            if reads(services[h], e.event_type)
        }
        return (events, spans) if len(events) > 1 and wanted <= named.keys() else None

    found: tuple[list[Event], list[ReadableSpan]] = await wait_for(
        complete, what="every service's span of every event of the chain"
    )
    return found


def assert_one_tree_following_causation(
    events: list[Event], spans: list[ReadableSpan], services: dict[str, Service]
) -> None:
    """Intake's span is the root; the span of each service handling an event is a child of
    the span that recorded it (intake's for the inbound event, else the span of the deciding
    service handling the decision's cause). A service passing over a type has no span."""
    named = by_name(spans)
    types = {e.event_id: e.event_type for e in events}
    inbound = events[0] if events[0].causation_id == events[0].event_id else events[-1]
    root = named[("laoke-intake", f"record {inbound.event_type}")]
    assert root.parent is None
    assert attr(root, "laoke.outcome") == "accepted"
    for event in events:
        if event.causation_id == event.event_id:
            recorder = root
        else:
            assert event.causation_id is not None
            recorder = named[(f"laoke-{event.source}", f"handle {types[event.causation_id]}")]
            assert event.event_type in attr(recorder, "laoke.decisions")
        for handler in HANDLERS:
            key = (f"laoke-{handler}", f"handle {event.event_type}")
            if not reads(services[handler], event.event_type):
                assert key not in named, key
                continue
            span = named[key]
            assert span.parent is not None and recorder.context is not None
            assert span.parent.span_id == recorder.context.span_id, (handler, event.event_type)
            assert attr(span, "laoke.event_id") == str(event.event_id)
    ids = {s.context.span_id for s in spans if s.context is not None}
    assert all(s.parent is None or s.parent.span_id in ids for s in spans)  # nothing dangles


async def test_an_event_posted_over_http_is_one_trace_from_the_request_to_the_read_models(
    spans: InMemorySpanExporter,
    running: dict[str, Service],
    js: JetStreamContext,
    clock: ManualClock,
) -> None:
    app = build_http_app([(entry("intake"), running["intake"])])
    filed = complaint(clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://laoke"
    ) as client:
        response = await client.post("/v1/events", json=filed)
    assert response.json()["accepted"] == 1
    events, in_trace = await the_trace(js, spans, UUID(filed["event_id"]), running)

    assert {e.source for e in events} >= {"complaints"}  # a decision is part of the chain
    assert_one_tree_following_causation(events, in_trace, running)
    services = {service_of(s) for s in in_trace}
    assert services == {"laoke-intake", *(f"laoke-{h}" for h in HANDLERS)}
    # The request is a trace of its own (it may carry many events), linked from intake's.
    (request,) = [s for s in spans.get_finished_spans() if s.name == "POST /v1/events"]
    assert service_of(request) == "laoke-http"
    root = by_name(in_trace)[("laoke-intake", "record ComplaintFiled")]
    assert request.context is not None
    (link,) = root.links
    assert (link.context.trace_id, link.context.span_id) == (
        request.context.trace_id,
        request.context.span_id,
    )


async def test_an_event_from_dealer_in_is_one_trace_linked_to_the_senders(
    spans: InMemorySpanExporter,
    running: dict[str, Service],
    js: JetStreamContext,
    clock: ManualClock,
) -> None:
    sender = SpanContext(uuid4().int, uuid4().int >> 64, is_remote=True, trace_flags=TraceFlags(1))
    filed = complaint(clock)
    traceparent = f"00-{format_trace_id(sender.trace_id)}-{format_span_id(sender.span_id)}-01"
    await js.publish(
        f"dealer.in.{filed['dealership_id']}.ComplaintFiled",
        json.dumps(filed).encode(),
        headers={"Nats-Msg-Id": filed["event_id"], "traceparent": traceparent},
    )
    events, in_trace = await the_trace(js, spans, UUID(filed["event_id"]), running)

    assert_one_tree_following_causation(events, in_trace, running)
    root = by_name(in_trace)[("laoke-intake", "record ComplaintFiled")]
    assert attr(root, "laoke.origin").startswith("DEALER_IN:")
    (link,) = root.links
    assert (link.context.trace_id, link.context.span_id) == (sender.trace_id, sender.span_id)


async def test_a_resent_event_is_a_span_under_its_first_recording_a_bad_one_an_error(
    spans: InMemorySpanExporter, running: dict[str, Service], clock: ManualClock
) -> None:
    filed = complaint(clock)
    bad = {**complaint(clock), "complaint_id": ""}
    app = build_http_app([(entry("intake"), running["intake"])])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://laoke"
    ) as client:
        first = await client.post("/v1/events", json=filed)
        again = await client.post("/v1/events", json=[filed, bad])
    assert first.json()["accepted"] == 1
    assert (again.json()["duplicate"], again.json()["rejected"]) == (1, 1)
    finished = spans.get_finished_spans()
    named = by_name([s for s in finished if s.context.trace_id == UUID(filed["event_id"]).int])
    duplicate = named[("laoke-intake", "duplicate")]
    recorded = named[("laoke-intake", "record ComplaintFiled")]
    assert duplicate.parent is not None and recorded.context is not None
    assert duplicate.parent.span_id == recorded.context.span_id
    # The rejected one: a trace of its own, an error naming the dead letter's reason,
    # linked to the request like the duplicate beside it.
    (rejected,) = [s for s in finished if s.name == "reject"]
    assert rejected.parent is None and rejected.status.status_code is StatusCode.ERROR
    assert attr(rejected, "laoke.dead_letter") == again.json()["results"][1]["reason"]
    assert [link.context.span_id for link in rejected.links] == [
        link.context.span_id for link in duplicate.links
    ]


async def test_a_request_span_keeps_no_query_string(spans: InMemorySpanExporter) -> None:
    app = build_http_app([])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://laoke"
    ) as client:
        await client.get("/v1/customers", params={"phone": "13800138", "name": "王芳"})
    (request,) = spans.get_finished_spans()
    told = " ".join(str(v) for v in (request.attributes or {}).values())
    assert "/v1/customers" in told
    assert "13800138" not in told and "王芳" not in told


def test_nor_with_the_stable_http_conventions() -> None:
    """With OTEL_SEMCONV_STABILITY_OPT_IN=http the query is `url.query` (the variable is
    read once per process, so the hook is handed such a span here)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("test").start_span(
        "GET", attributes={"url.path": "/v1/customers", "url.query": "phone=13800138"}
    )
    tracing.without_query(span, {})
    span.end()
    (ended,) = exporter.get_finished_spans()
    assert attr(ended, "url.query") == ""


def test_off_without_an_endpoint_and_nothing_is_traced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)
    assert not tracing.configure(LaokeSettings())
    assert not tracing.enabled()
    event: Any = object()  # not even looked at
    with tracing.handling("complaints", event, f"{RETENTION}:1") as span:
        assert span is None
    headers: dict[str, str] = {}
    tracing.inject(headers)
    assert headers == {}
    app = build_http_app([])
    assert not any("OpenTelemetry" in str(m.cls) for m in app.user_middleware)


def test_laoke_otlp_endpoint_turns_it_on_with_the_traces_path() -> None:
    try:
        assert tracing.configure(LaokeSettings(otlp_endpoint="http://127.0.0.1:4318/"))
        state: Any = tracing._state
        assert state.processor.span_exporter._endpoint == "http://127.0.0.1:4318/v1/traces"
    finally:
        tracing.shutdown()
    assert not tracing.enabled()
