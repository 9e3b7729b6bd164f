"""``motcua history``: one dossier's events as plain lines, whatever the terminal's width.

A table squeezed into 80 columns cuts its timestamps ("2026-03-02T09:0…"), and a cut timestamp
is worse than none in an audit. Each event gets its own short lines instead, times in local
time (Asia/Ho_Chi_Minh) with the offset, and lines are never cut or re-wrapped by the printer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from shared.clock import DEFAULT_CALENDAR
from shared.contracts import AnyEvent


def local(at: datetime) -> str:
    return DEFAULT_CALENDAR.to_local(at).isoformat(timespec="seconds")


def history_lines(events: Iterable[AnyEvent]) -> list[str]:
    """Lines for the events in business-time order (by the instant, whatever zone they carry)."""
    lines: list[str] = []
    for e in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        lines.append(f"{local(e.occurred_at)}  {e.event_type}")
        actor = f"{e.actor.user_id} ({e.actor.role}, {e.actor.agency})"
        lines.append(f"    recorded {local(e.recorded_at)}  by {actor}")
        if e.backdate_reason:
            lines.append(f"    back-dated: {e.backdate_reason}")
    return lines
