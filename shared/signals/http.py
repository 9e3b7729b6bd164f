"""Every HTTP request: counted and timed by route template, traced, and its dossier in the logs.

Pure ASGI and outermost, so it sees what the policy guard refuses as well. The route template
comes from the guard (which matched it already) or from the router; a path nothing matched is
one series (``<unmatched>``), so a scan of random paths cannot grow the metrics without bound.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.signals.logs import request_scope, set_dossier
from shared.signals.metrics import HTTP_LATENCY, HTTP_REQUESTS, OUTAGES, UNMATCHED
from shared.signals.tracing import context_from, tracer

# Where the guard leaves the template it matched, and the error handlers the outage they met.
ROUTE_KEY = "route_template"
OUTAGE_KEY = "outage"


def route_of(scope: Scope) -> str:
    state = scope.get("state") or {}
    template = state.get(ROUTE_KEY)
    if template:
        return str(template)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


def note_route(scope: Scope, template: str, path_params: dict[str, Any]) -> None:
    """Called by whoever matched the route first (the policy guard)."""
    scope.setdefault("state", {})[ROUTE_KEY] = template
    code = path_params.get("code")
    if isinstance(code, str):
        set_dossier(code)


def note_outage(scope: Scope, dependency: str) -> None:
    scope.setdefault("state", {})[OUTAGE_KEY] = dependency


def _trace_headers(scope: Scope) -> dict[str, str] | None:
    """Only the trace context of the request's headers (decoding them all cost every request)."""
    for name, value in scope.get("headers") or ():
        if name == b"traceparent":
            return {"traceparent": value.decode("latin-1")}
    return None


class HttpSignals:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        # The labelled series of each (method, route template, status), looked up once: the
        # client library's own lookup takes a lock and builds its key on every call. Bounded,
        # as the series are (templates, not paths).
        self._known: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _series(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        series = self._known.get(key)
        if series is None:
            series = (
                HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                HTTP_LATENCY.labels(self.service, method, route),
            )
            self._known[key] = series
        return series

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        method = scope["method"]
        status = 500  # what the server answers for an exception that escapes
        span = tracer(self.service).start_span(
            method,
            context=context_from(_trace_headers(scope)),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "motcua.service": self.service},
        )
        token = otel_context.attach(trace.set_span_in_context(span))

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            with request_scope():
                await self.app(scope, receive, sending)
        finally:
            route = route_of(scope)
            elapsed = time.perf_counter() - began
            counter, latency = self._series(method, route, status)
            counter.inc()
            latency.observe(elapsed)
            outage = (scope.get("state") or {}).get(OUTAGE_KEY)
            if status == 503 and outage:
                OUTAGES.labels(self.service, str(outage)).inc()
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            code = (scope.get("path_params") or {}).get("code")
            if isinstance(code, str):
                span.set_attribute("motcua.dossier_code", code)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()
            otel_context.detach(token)
