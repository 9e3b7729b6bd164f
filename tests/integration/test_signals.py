"""The signals of a running system: one dossier's trace through the four services, /metrics.

The four services run in this one process (tests/system.py), so one in-memory exporter sees
the spans of all of them, and the trace context must still cross NATS and PostgreSQL: each hop
continues from what the relay stored and sent, not from anything in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.intake.catalogue import load_catalogue
from shared.host.settings import Settings
from tests.system import System, eventually, receive_body, running_system

SERVICES = ("intake", "processing", "postal", "scoring")


class _WhileTesting(SimpleSpanProcessor):
    """Keeps spans only while a test here runs: the provider stays for the whole session."""

    active = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.active:
            super().on_end(span)


_EXPORTER = InMemorySpanExporter()
_PROCESSOR = _WhileTesting(_EXPORTER)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    if not getattr(provider, "_motcua_test_processor", False):
        provider.add_span_processor(_PROCESSOR)
        provider._motcua_test_processor = True  # type: ignore[attr-defined]
    _EXPORTER.clear()
    _PROCESSOR.active = True
    try:
        yield _EXPORTER
    finally:
        _PROCESSOR.active = False
        _EXPORTER.clear()


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


def _consumers_in(exporter: InMemorySpanExporter, trace_id: int) -> set[str]:
    return {
        str(span.attributes.get("messaging.consumer.group.name"))
        for span in exporter.get_finished_spans()
        if span.context is not None and span.context.trace_id == trace_id and span.attributes
    }


def _services_in(exporter: InMemorySpanExporter, trace_id: int) -> set[str]:
    return {
        str(span.attributes.get("motcua.service"))
        for span in exporter.get_finished_spans()
        if span.context is not None and span.context.trace_id == trace_id and span.attributes
    }


async def test_one_dossier_is_one_trace_through_the_four_services_and_metrics_count_it(
    system: System, spans: InMemorySpanExporter
) -> None:
    procedure = next(p for p in load_catalogue().procedures if 1 in {int(c) for c in p.channels})
    response = await system.intake.post("/dossiers", json=receive_body(procedure.code, postal_return=True))
    assert response.status_code == 201, response.text
    code = response.json()["code"]

    # (FastAPI adds spans of its own inside ours: ours are those naming the service.)
    (request,) = [
        s
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.SERVER and s.attributes and s.attributes.get("motcua.service") == "intake"
    ]
    assert request.name == "POST /dossiers"
    assert request.attributes is not None and request.attributes["http.response.status_code"] == 201
    assert request.context is not None
    trace_id = request.context.trace_id

    # Processing opens the case (a consumer's span), its event goes on to postal and scoring.
    reached = await eventually(
        lambda: _async(_services_in(spans, trace_id)), lambda s: s >= set(SERVICES), timeout=20
    )
    assert reached >= set(SERVICES)
    # processing's case event came back through its own relay: the trace crossed two relays
    # (processing's own consumer of its case events, which may finish after the four services
    # were seen; postal is given a result ready only, which this dossier does not reach)
    crossed = {"processing-intake", "postal-intake", "scoring", "processing-queues"}
    consumers = await eventually(
        lambda: _async(_consumers_in(spans, trace_id)), lambda c: c >= crossed, timeout=20
    )
    assert crossed <= consumers
    in_trace = [s for s in spans.get_finished_spans() if s.context and s.context.trace_id == trace_id]
    assert all(
        s.attributes.get("motcua.dossier_code") == code
        for s in in_trace
        if s.kind is SpanKind.CONSUMER and s.attributes
    )
    # Another request is another trace.
    other = await system.intake.post("/dossiers", json=receive_body(procedure.code))
    assert other.status_code == 201
    assert len({s.context.trace_id for s in spans.get_finished_spans() if s.context}) >= 2

    # /metrics, without a token, on every service.
    texts: dict[str, str] = {}
    for name in SERVICES:
        scraped = await system.clients[name].get("/metrics", headers={"Authorization": ""})
        assert scraped.status_code == 200, scraped.text
        assert scraped.headers["content-type"].startswith("text/plain")
        texts[name] = scraped.text
    intake = texts["intake"]
    assert (
        _value(intake, "motcua_http_requests_total", service="intake", route="/dossiers", status="201") >= 2
    )
    assert (
        _value(intake, "motcua_http_request_duration_seconds_count", service="intake", route="/dossiers") >= 2
    )
    assert code not in "".join(texts.values()), "no dossier code in any label"
    # The relay has published everything committed; its position is the newest event's.
    relay = await eventually(
        lambda: _scrape(system, "intake"),
        lambda t: _value(t, "motcua_relay_lag_events", service="intake") == 0,
    )
    assert _value(relay, "motcua_relay_position", service="intake") >= 2
    assert _value(relay, "motcua_relay_published_total", service="intake") >= 2
    scoring = await eventually(
        lambda: _scrape(system, "scoring"),
        lambda t: _value(t, "motcua_consumer_processed_total", service="scoring", durable="scoring") >= 4,
    )
    assert _value(scoring, "motcua_consumer_pending", service="scoring", durable="scoring") == 0
    assert _value(scoring, "motcua_consumer_dead_letters_total", service="scoring", durable="scoring") == 0
    # Scrapes of one service show only its own consumers.
    assert 'durable="processing-intake"' not in scoring
    # Counted by template: a dossier's own path is one series whatever the code.
    await system.intake.get(f"/dossiers/{code}")
    after = await _scrape(system, "intake")
    assert _value(after, "motcua_http_requests_total", route="/dossiers/{code}", status="200") >= 1


async def _async(value: Any) -> Any:
    return value


async def _scrape(system: System, name: str) -> str:
    response = await system.clients[name].get("/metrics")
    assert response.status_code == 200
    return response.text


def _value(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 if none)."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total
