"""Tracing (OpenTelemetry): one trace per inbound event, from intake through each service's
handling of it and of the decisions it caused, to the read models.

Ids are derived from the recorded events, never carried in message headers:
- the trace id is the event's `correlation_id` (the inbound event that started the chain;
  a UUID has a trace id's 128 bits), so a trace id is the correlation id of the log lines
  and the audit, written as 32 hex digits;
- the span of service S handling event E has the id h(S, E.event_id); its parent is the span
  that recorded E: h(E.source, E.causation_id) for a decision (its `source` is the service
  that decided it), h("intake", E.event_id) for an inbound event, whose span is intake's.
Why not W3C `traceparent` headers on what intake and the services publish: decisions leave
through an outbox, are published again after a crash, are fired by deadlines days after
their cause, and are read again by a rebuild; a header would have to be stored with each
decision (the outbox's content depending on tracing) and would still miss the deadlines.
Derived ids need nothing stored or published: every process finds the trace and the parent
from the event alone, and tracing can be turned on later and still link old chains. An
event handled twice (a retry after a crash) shows two spans with one id. Every span is
sampled (`OTEL_TRACES_SAMPLER` is not read): the SDK's ratio sampler reads a trace id's low
64 bits, which in a UUID begin with fixed variant bits; sample in the collector instead.

An upstream trace is a link of intake's span, not its parent: the HTTP request's span (one
request may carry many events, each its own trace) or a `traceparent` a sender put on its
DEALER_IN message. Spans name ids and types only, never an event's content (nor a request's
query string).

Off unless `LAOKE_OTLP_ENDPOINT` (or the standard `OTEL_EXPORTER_OTLP_ENDPOINT`) is set;
while off, every entry point returns after one check of a module global.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Mapping, MutableMapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
)

from events import Event
from laoke.settings import LaokeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger(__name__)
INTAKE = "intake"  # records every inbound event: the root of its trace
HTTP = "http"  # the HTTP API's spans (FastAPI's instrumentation)
_STANDARD_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_NOTHING: AbstractContextManager[None] = nullcontext()
# The ids the next span started by `_start` takes (read by the providers' id generator).
_NEXT_IDS: ContextVar[tuple[int, int] | None] = ContextVar("laoke_trace_ids", default=None)


@dataclass
class _Tracing:
    processor: SpanProcessor
    providers: dict[str, TracerProvider] = field(default_factory=dict)
    tracers: dict[str, trace.Tracer] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def provider(self, service: str) -> TracerProvider:
        """One provider per service (its resource names it: `laoke-<service>`), all sharing
        the one exporter."""
        with self.lock:
            if service not in self.providers:
                self.providers[service] = _provider(service, self.processor)
            return self.providers[service]

    def tracer(self, service: str) -> trace.Tracer:
        found = self.tracers.get(service)  # the provider's get_tracer is slow
        if found is None:
            found = self.tracers[service] = self.provider(service).get_tracer("laoke")
        return found


_state: _Tracing | None = None


def enabled() -> bool:
    return _state is not None


def configure(settings: LaokeSettings, exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on when an endpoint is set (or `exporter` is given: tests); False and
    nothing changed otherwise. `shutdown()` sends what is left and turns it off."""
    global _state
    standard = any(os.environ.get(v) for v in _STANDARD_ENDPOINTS)
    if exporter is None and not settings.otlp_endpoint and not standard:
        return False
    # Imported here: a process that does not trace does not load the SDK.
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is not None:
        processor: SpanProcessor = SimpleSpanProcessor(exporter)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # The standard variable names the collector's base URL; the exporter adds the path
        # itself only when it reads the variable, so ours gets it here.
        base = settings.otlp_endpoint
        endpoint = f"{base.rstrip('/')}/v1/traces" if base else None
        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))
    shutdown()
    _state = _Tracing(processor)
    return True


def shutdown() -> None:
    global _state
    state, _state = _state, None
    if state is not None:
        state.processor.shutdown()  # flushes first


def _provider(service: str, processor: SpanProcessor) -> TracerProvider:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

    class DerivedIds(RandomIdGenerator):
        """The ids `_start` asks for; random ones for other spans (the HTTP request's)."""

        def generate_trace_id(self) -> int:
            ids = _NEXT_IDS.get()
            return ids[0] if ids else super().generate_trace_id()

        def generate_span_id(self) -> int:
            ids = _NEXT_IDS.get()
            return ids[1] if ids else super().generate_span_id()

        def is_trace_id_random(self) -> bool:
            return False

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"laoke-{service}"}),
        id_generator=DerivedIds(),
        sampler=ParentBased(ALWAYS_ON),  # the SDK's default, whatever the environment says
        shutdown_on_exit=False,  # `shutdown()` ends the one processor
    )
    provider.add_span_processor(processor)
    return provider


# -- the ids ------------------------------------------------------------------------------


def trace_id(correlation_id: UUID) -> int:
    """The trace of every event of the chain `correlation_id` started."""
    return correlation_id.int or 1  # 0 is no trace id


def span_id(service: str, event_id: UUID | str) -> int:
    """The span of `service` handling (intake: recording) the event `event_id`."""
    digest = hashlib.blake2b(f"{service}:{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") or 1


def recorded_by(event: Event) -> tuple[str, UUID]:
    """Whose span recorded `event` and while handling which event: its parent's ids."""
    if event.causation_id is None or event.causation_id == event.event_id:
        return INTAKE, event.event_id
    return event.source, event.causation_id


def _about(event: Event, origin: str) -> dict[str, Any]:
    return {
        "laoke.event_id": str(event.event_id),
        "laoke.event_type": event.event_type,
        "laoke.dealership_id": event.dealership_id,
        "laoke.customer_id": event.customer_id or "",
        "laoke.causation_id": str(event.causation_id or ""),
        "laoke.origin": origin,
    }


def _start(
    tracing: _Tracing,
    service: str,
    name: str,
    ids: tuple[int, int] | None,
    parent: tuple[int, int] | None,
    attributes: dict[str, Any],
    links: Sequence[Link] = (),
    start_time: int | None = None,
) -> Span:
    """A span with the `ids` (trace, span) given (random when None), child of the span
    `parent` (trace, span) when given, else a root."""
    context = Context()  # never a child of whatever is current
    if parent is not None:
        remote = SpanContext(*parent, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        context = trace.set_span_in_context(NonRecordingSpan(remote), context)
    token = _NEXT_IDS.set(ids)
    try:
        return tracing.tracer(service).start_span(
            name, context, SpanKind.CONSUMER, attributes, links, start_time
        )
    finally:
        _NEXT_IDS.reset(token)


# -- the entry points ---------------------------------------------------------------------


def handling(service: str, event: Event, origin: str) -> AbstractContextManager[Span | None]:
    """The span of `service` handling `event` (at `origin`, e.g. RETENTION:42), current
    while it lasts; the shared null context when tracing is off."""
    tracing = _state
    if tracing is None:
        return _NOTHING
    try:
        span = _handled(tracing, service, event, origin)
    except Exception:  # tracing never stops the work it watches
        log.warning("no span for %s handling %s", service, event.event_id, exc_info=True)
        return _NOTHING
    return trace.use_span(span, end_on_exit=True)


def _handled(
    tracing: _Tracing,
    service: str,
    event: Event,
    origin: str,
    batch: int | None = None,
    start_time: int | None = None,
) -> Span:
    """The span of `service` handling `event`: a child of the span that recorded it."""
    trace_ = trace_id(event.correlation_id or event.event_id)
    attributes = _about(event, origin)
    if batch is not None:
        attributes["laoke.batch"] = batch
    return _start(
        tracing,
        service,
        f"handle {event.event_type}",
        (trace_, span_id(service, event.event_id)),
        (trace_, span_id(*recorded_by(event))),
        attributes,
        start_time=start_time,
    )


def decided(span: Span | None, decisions: Sequence[Event]) -> None:
    """What a handling recorded."""
    if span is not None and decisions:
        span.set_attribute("laoke.decisions", [d.event_type for d in decisions])


def failed(span: Span | None, reason: str, error: str) -> None:
    """A handling that ended in a dead letter."""
    if span is not None:
        span.set_attribute("laoke.dead_letter", reason)
        span.set_status(StatusCode.ERROR, error[:500])


def handled_batch(service: str, handled: Sequence[tuple[Event, str]], started_ns: int) -> None:
    """Spans of `service` for events handled in one transaction begun at `started_ns`
    (each (event, origin)), ended now: their commit."""
    tracing = _state
    if tracing is None:
        return
    ended = time.time_ns()
    try:
        for event, origin in handled:
            _handled(tracing, service, event, origin, len(handled), started_ns).end(ended)
    except Exception:  # tracing never fails the work it watches
        log.warning("no spans for a batch of %s", service, exc_info=True)


@dataclass(frozen=True)
class Arrival:
    """What intake made of one inbound message (for its span)."""

    origin: str  # DEALER_IN:<seq> or http:<request>:<index>
    headers: Mapping[str, str] | None
    outcome: str  # accepted, duplicate, rejected
    event_id: str | None = None
    recorded: Sequence[Event] = ()  # accepted: the event as recorded (and CustomersMerged)
    reason: str | None = None


def received(arrivals: Sequence[Arrival], started_ns: int) -> None:
    """Intake's spans for a batch recorded in one transaction begun at `started_ns`: an
    accepted event's span is the root of its trace; a duplicate's, a child of the span that
    recorded it first; a rejected message's, a trace of its own."""
    tracing = _state
    if tracing is None:
        return
    ended = time.time_ns()
    try:
        for arrival in arrivals:
            _arrived(tracing, arrival, len(arrivals), started_ns).end(ended)
    except Exception:  # tracing never fails the work it watches
        log.warning("no spans for a batch of intake", exc_info=True)


def _arrived(tracing: _Tracing, arrival: Arrival, batch: int, started_ns: int) -> Span:
    """Intake's span for one message of a batch of `batch`."""
    attributes: dict[str, Any] = {
        "laoke.origin": arrival.origin,
        "laoke.outcome": arrival.outcome,
        "laoke.batch": batch,
    }
    ids = parent = None
    event = next((e for e in arrival.recorded if str(e.event_id) == arrival.event_id), None)
    if event is not None:
        name = f"record {event.event_type}"
        ids = (trace_id(event.event_id), span_id(INTAKE, event.event_id))
        attributes |= _about(event, arrival.origin)
        decisions = [e.event_type for e in arrival.recorded if e is not event]
        if decisions:
            attributes["laoke.decisions"] = decisions
    elif arrival.event_id is not None:  # a duplicate: under the first recording
        name = "duplicate"
        first = UUID(arrival.event_id)
        parent = (trace_id(first), span_id(INTAKE, first))
        attributes["laoke.event_id"] = arrival.event_id
    else:
        name = "reject"
        attributes["laoke.dead_letter"] = arrival.reason or ""
    links = _upstream(arrival.headers)
    span = _start(tracing, INTAKE, name, ids, parent, attributes, links, started_ns)
    if event is None and arrival.event_id is None:
        span.set_status(StatusCode.ERROR, arrival.reason or "rejected")
    return span


def _upstream(headers: Mapping[str, str] | None) -> list[Link]:
    """A link to the trace the message came from (its `traceparent`), if it names one."""
    if not headers or "traceparent" not in headers:
        return []
    found = trace.get_current_span(propagate.extract(dict(headers))).get_span_context()
    return [Link(found)] if found.is_valid else []


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` (the HTTP request's) to `headers`."""
    if _state is not None:
        propagate.inject(headers)


def instrument(app: FastAPI) -> None:
    """FastAPI's instrumentation: a span per request (not /healthz, /metrics), without
    its query string."""
    tracing = _state
    if tracing is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracing.provider(HTTP),
        excluded_urls="/healthz,/metrics",
        exclude_spans=["receive", "send"],  # a span per ASGI message says nothing more
        server_request_hook=without_query,
    )


def without_query(span: Span, scope: dict[str, Any]) -> None:
    """A query may name a person (`GET /v1/customers?phone=...&name=...`): the request's
    span keeps the path alone."""
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    if "http.url" in attributes:  # the instrumentation's default attributes
        span.set_attribute("http.url", str(attributes["http.url"]).split("?", 1)[0])
    if "url.query" in attributes:  # with OTEL_SEMCONV_STABILITY_OPT_IN=http
        span.set_attribute("url.query", "")
