"""The signals' pieces on their own: the dashboard and alert rules name only metrics the code
serves, the JSON log line, and the event store's mapper keeping each event's trace context."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import yaml
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, UUIDAsHex
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from prometheus_client import REGISTRY, CollectorRegistry

import shared.signals.metrics  # noqa: F401 - registers the process-wide series
from shared.signals.logs import JsonFormatter, dossier_context
from shared.signals.metrics import HostCollector
from shared.signals.tracing import TRACE_KEY, TracedMapper, linked

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
METRIC = re.compile(r"\bmotcua_[a-z0-9_]+")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def _served_names() -> set[str]:
    """Every sample name /metrics can serve: the process-wide families and a host's."""
    fake_consumer = SimpleNamespace(
        spec=SimpleNamespace(durable="d"),
        stats=SimpleNamespace(processed=1, duplicates=0, dead_lettered=0, failed_batches=0),
    )
    relay = SimpleNamespace(status=lambda: {"position": 3, "published": 3, "heals": 0})
    host: Any = SimpleNamespace(name="s", consumers=[fake_consumer], relay=relay)
    collector = HostCollector(host)
    collector.pending = {"d": (0, 0)}
    collector.relay_head, collector.relay_position = 5, 3
    own = CollectorRegistry(auto_describe=False)
    own.register(collector)
    names: set[str] = set()
    for registry in (REGISTRY, own):
        for family in registry.collect():
            for suffix in SUFFIXES.get(family.type, ("",)):
                names.add(family.name + suffix)
    return names


def _exprs() -> list[tuple[str, str]]:
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text(encoding="utf-8"))
    found = [(r["alert"], r["expr"]) for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    found += [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]
    return found


def test_alert_rules_are_well_formed() -> None:
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text(encoding="utf-8"))
    names: list[str] = []
    assert rules["groups"], "at least one group"
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert rule["annotations"]["summary"]
            if "for" in rule:
                assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["for"]
            names.append(rule["alert"])
    assert len(names) == len(set(names)), "alert names are unique"
    # What issue 16 asks to alert on: lag, dead letters, relay behind, 5xx, outages.
    assert {"ConsumerLagGrowing", "DeadLetters", "RelayBehind", "Http5xxRate", "DependencyOutage"} <= set(
        names
    )
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["alerts.yml"]
    assert config["scrape_configs"][0]["metrics_path"] == "/metrics"


def test_dashboard_loads_and_every_metric_named_is_served() -> None:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["panels"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    served = _served_names()
    named = {name for _, expr in _exprs() for name in METRIC.findall(expr)}
    assert len(named) >= 10
    assert named - served == set(), f"named but not served: {sorted(named - served)}"


def test_json_log_line_names_the_dossier_and_trace_and_nothing_else() -> None:
    provider = TracerProvider()
    record = logging.makeLogRecord({"name": "x", "levelname": "WARNING", "msg": "batch of %d", "args": (3,)})
    with (
        provider.get_tracer("t").start_as_current_span("s") as span,
        dossier_context("000.00.01.H26-260101-0001"),
    ):
        line = json.loads(JsonFormatter("intake").format(record))
        expected_trace = format(span.get_span_context().trace_id, "032x")
    assert line["msg"] == "batch of 3" and line["level"] == "warning" and line["service"] == "intake"
    assert line["dossier_code"] == "000.00.01.H26-260101-0001"
    assert line["trace_id"] == expected_trace
    outside = json.loads(JsonFormatter().format(record))
    assert "dossier_code" not in outside and "trace_id" not in outside


class _Thing(Aggregate):
    @event("Made")
    def __init__(self, dossier_id: Any) -> None:
        self.dossier_id = dossier_id


def _mapper() -> TracedMapper:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    return TracedMapper(transcoder=transcoder)


def test_mapper_stores_each_events_context_and_gives_it_back_apart() -> None:
    mapper = _mapper()
    plain = _Thing(uuid4())
    (made,) = plain.collect_events()
    assert mapper.read(mapper.to_stored_event(made))[1] is None, "outside any trace nothing is stored"

    trace_id, span_id = 0x1234, 0x42
    parent = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1)))
    with trace.use_span(parent):
        stored = mapper.to_stored_event(made)
    domain, traceparent = mapper.read(stored)
    assert traceparent == f"00-{trace_id:032x}-{span_id:016x}-01"
    assert TRACE_KEY not in vars(domain), "the domain event never sees it"
    assert _Thing.Made.mutate(domain, None).dossier_id == plain.dossier_id  # type: ignore[attr-defined]
    assert TRACE_KEY not in vars(mapper.to_domain_event(stored))

    # A save of many dossiers: each dossier's own context, whatever the current one.
    other = _Thing(uuid4())
    (made_other,) = other.collect_events()
    mine = f"00-{0x99:032x}-{0x7:016x}-01"
    with trace.use_span(parent), linked({other.dossier_id: mine}):
        assert mapper.read(mapper.to_stored_event(made_other))[1] == mine
        assert mapper.read(mapper.to_stored_event(made))[1] == traceparent
