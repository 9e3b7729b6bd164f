"""Prometheus metrics: ``GET /metrics`` on every service, and what it counts.

Two kinds of series:

* counted as things happen (process-wide registry, labelled by service): HTTP requests by route
  *template* and status and their latency, outages answered 503 per dependency, clock sweeps;
* read when scraped, from the service host (``HostCollector``): each durable consumer's
  processed / duplicate / dead-lettered counts and its lag on JetStream, the relay's position,
  the newest event in PostgreSQL it has to reach, and its heals. The lag needs a question to
  NATS and one to PostgreSQL: the scrape asks them (bounded, ``refresh``), so an idle service
  costs nothing between scrapes.

Labels never hold a raw path, a dossier code or anything a citizen typed: their number stays
bounded and ``/metrics`` holds no personal data, which is why it is public like ``/health``
(docs/deploy/observability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as _generate
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response

if TYPE_CHECKING:
    from shared.host.host import ServiceHost

HTTP_REQUESTS = Counter(
    "motcua_http_requests",
    "HTTP requests answered, by route template and status",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "motcua_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
OUTAGES = Counter(
    "motcua_outages",
    "Requests answered 503 because a dependency was down, by dependency",
    ["service", "dependency"],
)
CLOCK_SWEEPS = Counter(
    "motcua_clock_sweeps",
    "Runs of the legal clock's sweeps (overdue, unsupplemented), by outcome",
    ["service", "sweep", "outcome"],
)
CLOCK_SWEPT = Counter(
    "motcua_clock_swept_cases",
    "Cases a clock sweep changed (marked overdue, closed for no supplement)",
    ["service", "sweep"],
)
CLOCK_SWEEP_SECONDS = Histogram(
    "motcua_clock_sweep_duration_seconds",
    "Time one clock sweep took",
    ["service", "sweep"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0),
)

# Route label of a request no route matched (probes, typos): one series for all of them.
UNMATCHED = "<unmatched>"
# A scrape waits at most this for NATS and PostgreSQL; what is late keeps its last value.
REFRESH_TIMEOUT_S = 2.0


@contextlib.contextmanager
def clock_sweep(service: str, sweep: str) -> Iterator[Callable[[int], None]]:
    """Counts one sweep and its outcome; the caller reports how many cases it changed."""
    began = time.perf_counter()
    changed = 0

    def report(count: int) -> None:
        nonlocal changed
        changed = count

    try:
        yield report
    except Exception:
        CLOCK_SWEEPS.labels(service, sweep, "failed").inc()
        raise
    else:
        CLOCK_SWEEPS.labels(service, sweep, "ok").inc()
        CLOCK_SWEPT.labels(service, sweep).inc(changed)
    finally:
        CLOCK_SWEEP_SECONDS.labels(service, sweep).observe(time.perf_counter() - began)


class HostCollector(Collector):
    """A service host's consumers and relay, read at each scrape."""

    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        # durable -> (pending, waiting for ack), from NATS at the last refresh
        self.pending: dict[str, tuple[int, int]] = {}
        self.relay_head: int | None = None
        self.relay_position: int | None = None

    async def refresh(self) -> None:
        """Asks NATS for each durable's lag and PostgreSQL for the relay's; bounded."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._refresh(), timeout=REFRESH_TIMEOUT_S)

    async def _refresh(self) -> None:
        host = self.host
        if host.consumers:
            from shared.eventlog.topology import STREAM

            js = host.broker.config.connection_state.stream
            for consumer in host.consumers:
                with contextlib.suppress(Exception):
                    info = await js.consumer_info(STREAM, consumer.spec.durable)
                    self.pending[consumer.spec.durable] = (info.num_pending or 0, info.num_ack_pending or 0)
        relay = host.relay
        if relay is not None:
            table = f"{relay.schema}.{relay.app.recorder.events_table_name}"  # type: ignore[attr-defined]
            row = await host.pool.fetchrow(
                f"SELECT (SELECT coalesce(max(id), 0) FROM {table}) AS head,"
                f" (SELECT position FROM {relay.schema}.relay_position WHERE relay = $1) AS position",
                relay.name,
            )
            if row is not None:
                self.relay_head = int(row["head"])
                self.relay_position = int(row["position"] or 0)

    def collect(self) -> Iterator[Metric]:
        service = self.host.name
        families: dict[str, CounterMetricFamily] = {
            "processed": CounterMetricFamily(
                "motcua_consumer_processed",
                "Events a durable consumer processed",
                labels=["service", "durable"],
            ),
            "duplicates": CounterMetricFamily(
                "motcua_consumer_duplicates",
                "Redelivered events a durable consumer recognised and skipped",
                labels=["service", "durable"],
            ),
            "dead_lettered": CounterMetricFamily(
                "motcua_consumer_dead_letters",
                "Events a durable consumer dead-lettered (stored with their reason, terminated)",
                labels=["service", "durable"],
            ),
            "failed_batches": CounterMetricFamily(
                "motcua_consumer_failed_batches",
                "Batches rolled back and redelivered after a transient failure",
                labels=["service", "durable"],
            ),
        }
        pending = GaugeMetricFamily(
            "motcua_consumer_pending",
            "Lag: events on JetStream a durable consumer has not been delivered yet",
            labels=["service", "durable"],
        )
        ack_pending = GaugeMetricFamily(
            "motcua_consumer_ack_pending",
            "Events delivered to a durable consumer and not yet acknowledged",
            labels=["service", "durable"],
        )
        for consumer in self.host.consumers:
            durable = consumer.spec.durable
            for attribute, family in families.items():
                family.add_metric([service, durable], getattr(consumer.stats, attribute))
            if durable in self.pending:
                waiting, unacked = self.pending[durable]
                pending.add_metric([service, durable], waiting)
                ack_pending.add_metric([service, durable], unacked)
        yield from families.values()
        yield pending
        yield ack_pending
        yield from self._relay(service)

    def _relay(self, service: str) -> Iterator[Metric]:
        relay = self.host.relay
        if relay is None:
            return
        status = relay.status()
        position = self.relay_position if self.relay_position is not None else status["position"]
        gauge = GaugeMetricFamily(
            "motcua_relay_position",
            "The last event (notification id) the relay published",
            labels=["service"],
        )
        gauge.add_metric([service], position or 0)
        yield gauge
        if self.relay_head is not None:
            head = GaugeMetricFamily(
                "motcua_relay_head",
                "The newest event committed in PostgreSQL (notification id)",
                labels=["service"],
            )
            head.add_metric([service], self.relay_head)
            yield head
            behind = GaugeMetricFamily(
                "motcua_relay_lag_events",
                "Events committed in PostgreSQL and not yet published to JetStream",
                labels=["service"],
            )
            behind.add_metric([service], max(0, self.relay_head - (position or 0)))
            yield behind
        published = CounterMetricFamily(
            "motcua_relay_published",
            "Contracts the relay published (re-publishes not counted)",
            labels=["service"],
        )
        published.add_metric([service], status["published"] or 0)
        yield published
        heals = CounterMetricFamily(
            "motcua_relay_heals",
            "Times the relay re-published from its checkpoint (stream lost)",
            labels=["service"],
        )
        heals.add_metric([service], status["heals"] or 0)
        yield heals


def metrics_response(host_registry: CollectorRegistry | None = None) -> Response:
    body = _generate(REGISTRY)
    if host_registry is not None:
        body += _generate(host_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class HostMetrics:
    """What ``GET /metrics`` answers for one service: the process's series and its host's
    consumers and relay (a registry per host, so several services in one process, as in the
    tests, do not repeat each other's)."""

    def __init__(self, host: ServiceHost) -> None:
        self.collector = HostCollector(host)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    async def response(self) -> Response:
        if self.collector.host.started:
            await self.collector.refresh()
        return metrics_response(self.registry)
