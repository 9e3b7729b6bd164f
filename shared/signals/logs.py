"""Structured logs: one JSON object a line, with the service, the dossier code and the trace id.

The dossier code and trace id come from context (the HTTP request's route, the message being
consumed), never from the message text, so a line can be joined to its trace and dossier
without anyone logging them by hand. No field holds personal data: a dossier code is a receipt
number, and the services never log an applicant (tests/integration/test_personal_data.py reads
every record of a whole run, formatted by this formatter too).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import trace

_DOSSIER: ContextVar[str | None] = ContextVar("motcua_dossier_code", default=None)


@contextlib.contextmanager
def dossier_context(code: str | None) -> Iterator[None]:
    """Log lines written inside name this dossier."""
    if code is None:
        yield
        return
    token = _DOSSIER.set(code)
    try:
        yield
    finally:
        _DOSSIER.reset(token)


@contextlib.contextmanager
def request_scope() -> Iterator[None]:
    """A request's dossier (``set_dossier``) ends with the request, whatever task runs it."""
    token = _DOSSIER.set(None)
    try:
        yield
    finally:
        _DOSSIER.reset(token)


def set_dossier(code: str | None) -> None:
    """For a request whose dossier is known only once routed (the task ends with the request)."""
    _DOSSIER.set(code)


def current_dossier() -> str | None:
    return _DOSSIER.get()


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self.service:
            entry["service"] = self.service
        code = _DOSSIER.get()
        if code:
            entry["dossier_code"] = code
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str) -> None:
    """JSON lines on stderr at ``MOTCUA_LOG_LEVEL`` (INFO), unless logging is configured already
    (a test run's capture, an operator's own configuration): then that one is kept."""
    root = logging.getLogger()
    if root.handlers or os.environ.get("MOTCUA_LOG_FORMAT", "json") != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel(os.environ.get("MOTCUA_LOG_LEVEL", "INFO").upper())
