"""Traces that follow a dossier: the HTTP request, then every service that reacts to its events.

The relay publishes later, from PostgreSQL, in another task and often in another batch than the
request that committed the event, so the trace context cannot ride along in memory: it is stored
*with the event*, in the stored state under ``_trace`` (a W3C ``traceparent``), by the event
store's mapper at the moment the event is written (``TracedMapper``, named by ``MAPPER_TOPIC``).
The relay reads it back with the event and sends it as the NATS header ``traceparent``; each
consumer continues the trace from that header, and what a consumer's handler saves is stored
with the consumer's span, so the next hop continues the same trace.

Saves that write many dossiers at once (intake's group commit, processing opening a batch of
cases) run in one task for many traces: they name each dossier's own context with ``linked``,
keyed by the dossier's id (the aggregate's id, or the ``dossier_id`` its events carry).

Without an exporter (``OTEL_EXPORTER_OTLP_ENDPOINT`` unset) no span is recorded, but a context
that came in with a request still travels on, so an upstream that traces is not cut off. Nothing
is stored for an event written outside any trace.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

# Where a stored event keeps the context it was written in (never part of the domain event).
TRACE_KEY = "_trace"
TRACEPARENT = "traceparent"
MAPPER_TOPIC = "shared.signals.tracing:TracedMapper"

_PROPAGATOR = TraceContextTextMapPropagator()
# dossier or aggregate id -> traceparent, for saves of many dossiers from one task
_LINKS: ContextVar[Mapping[UUID, str] | None] = ContextVar("motcua_trace_links", default=None)
_configured = False


def setup_tracing(service: str) -> None:
    """Installs an OTLP exporter when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-only
    variable) is set; otherwise spans stay unrecorded. Once per process: a test process that
    runs several services keeps the first provider (or its own)."""
    global _configured
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if _configured or not endpoint:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The exporter reads the endpoint, headers and timeout from the standard OTEL_* variables.
    name = os.environ.get("OTEL_SERVICE_NAME") or f"motcua-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True
    log.info("traces exported over OTLP to %s as %s", endpoint, name)


@functools.cache
def tracer(service: str) -> Tracer:
    # Kept: looking the provider up reads the environment on every call (a share of every
    # request). A tracer got before any provider is installed is OpenTelemetry's proxy, which
    # follows the provider installed later (a test's, or the OTLP one); after, the global
    # provider cannot be replaced any more.
    return trace.get_tracer(f"motcua.{service}")


def current_traceparent() -> str | None:
    """The current span's context as a ``traceparent``; None outside any trace."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def traceparent_of(span: Span) -> str | None:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get(TRACEPARENT)


def context_from(headers: Mapping[str, str] | None) -> Context | None:
    """The context a message or request carries (None: it starts a trace of its own)."""
    if not headers or TRACEPARENT not in headers:
        return None
    return _PROPAGATOR.extract({TRACEPARENT: headers[TRACEPARENT]})


def trace_id_hex() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


@contextlib.contextmanager
def linked(links: Mapping[UUID, str | None]) -> Iterator[None]:
    """While inside: events of these dossiers (or aggregates) are stored with their own context."""
    token = _LINKS.set({key: value for key, value in links.items() if value})
    try:
        yield
    finally:
        _LINKS.reset(token)


def _traceparent_for(domain_event: Any) -> str | None:
    links = _LINKS.get()
    if links:
        state = vars(domain_event)
        found = links.get(state.get("originator_id")) or links.get(state.get("dossier_id"))
        if found:
            return found
    return current_traceparent()


class TracedMapper(Mapper[Any]):
    """The library's mapper, storing the context each event was written in beside its state."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        traceparent = _traceparent_for(domain_event)
        if traceparent is None:
            return super().to_stored_event(domain_event)
        # A copy with one more attribute: the library stores every attribute of the event.
        marked = object.__new__(type(domain_event))
        object.__setattr__(marked, "__dict__", {**vars(domain_event), TRACE_KEY: traceparent})
        return super().to_stored_event(marked)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return self.read(stored_event)[0]

    def read(self, stored_event: StoredEvent) -> tuple[Any, str | None]:
        """The domain event (as the library builds it) and the context it was written in."""
        event = super().to_domain_event(stored_event)
        traceparent: str | None = vars(event).pop(TRACE_KEY, None)
        return event, traceparent


def read_event(mapper: Mapper[Any], stored_event: StoredEvent) -> tuple[Any, str | None]:
    if isinstance(mapper, TracedMapper):
        return mapper.read(stored_event)
    return mapper.to_domain_event(stored_event), None


class MessageSpans:
    """One CONSUMER span per message of a batch, each continuing the trace its message carries.

    The spans are open for the batch's whole transaction (what a message costs includes the
    batch it waited in); ``entered(i)`` makes message ``i``'s span current for its handler.
    """

    def __init__(self, spans: Sequence[Span], dossiers: Sequence[tuple[UUID | None, str | None]]) -> None:
        self.spans = spans
        self.dossiers = dossiers

    @contextlib.contextmanager
    def entered(self, index: int) -> Iterator[None]:
        from shared.signals.logs import dossier_context

        token = otel_context.attach(trace.set_span_in_context(self.spans[index]))
        try:
            with dossier_context(self.dossiers[index][1]):
                yield
        finally:
            otel_context.detach(token)

    def fail(self, exc: BaseException) -> None:
        for span in self.spans:
            span.set_status(Status(StatusCode.ERROR, repr(exc)[:200]))


@contextlib.contextmanager
def message_spans(
    service: str,
    durable: str,
    headers: Sequence[Mapping[str, str] | None],
    subjects: Sequence[str],
    dossiers: Sequence[tuple[UUID | None, str | None]],
) -> Iterator[MessageSpans]:
    """``dossiers``: each message's dossier id and code (None for a payload that did not parse)."""
    spans: list[Span] = []
    traced = tracer(service)
    for header, subject, (_, code) in zip(headers, subjects, dossiers, strict=True):
        span = traced.start_span(
            f"{durable} process",
            context=context_from(header),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.consumer.group.name": durable,
                "motcua.service": service,
                **({"motcua.dossier_code": code} if code else {}),
            },
        )
        spans.append(span)
    links = {
        dossier_id: traceparent_of(span)
        for span, (dossier_id, _) in zip(spans, dossiers, strict=True)
        if dossier_id is not None
    }
    try:
        with linked(links):
            yield MessageSpans(spans, dossiers)
    finally:
        for span in spans:
            span.end()
