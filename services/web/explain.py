"""The clock and the steps told in the page's language.

Vietnamese pages (and every printed form) get ``explain_vi``'s plain words, written from the
case's facts. English pages get the clock service's own explanation, which it writes in English
for every reading, and the steps' English names below.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.web import explain_vi, i18n
from services.web.formats import parse_instant
from shared.clock import DEFAULT_CALENDAR
from shared.clock.explain import duration
from shared.units import name_of

STEP_NAMES_EN: dict[str, str] = {
    "Opened": "Dossier received, sent to the deciding department",
    "OfficerAssigned": "Officer assigned",
    "Transferred": "Transferred to another agency",
    "SupplementRequested": "Supplement requested",
    "SupplementReceived": "Supplement received",
    "ClosedForNoSupplement": "Closed: not supplemented in time",
    "LeadershipReported": "Reported to the leadership",
    "LeadershipAcknowledged": "Leadership gave its opinion",
    "ApologyIssued": "Apology and new appointment",
    "MarkedOverdue": "Overdue",
    "Decided": "Decision made",
    "ResultReady": "Result ready, sent to the front desk",
    "ResultReturned": "Result handed to the citizen",
    "ResultBackAtDesk": "Result back at the front desk",
    "Stopped": "Processing stopped / dossier withdrawn",
}


def _english() -> bool:
    return i18n.current() == "en"


def step_name(event: str, what: str = "") -> str:
    if not _english():
        return explain_vi.step_name(event, what)
    if event in STEP_NAMES_EN:
        return STEP_NAMES_EN[event]
    # the service's words are "english (tiếng Việt)": keep the English part
    return (what.split(" (", 1)[0].strip() or event) if what else event


def step_of(row: dict[str, Any]) -> str:
    if not _english():
        return explain_vi.step_of(row)
    if row.get("event") == "Decided" and "approved" in (row.get("details") or {}):
        return "Decision: approved" if row["details"]["approved"] else "Decision: refused"
    return step_name(str(row.get("event", "")), str(row.get("what", "")))


def legal_time(case: dict[str, Any]) -> str:
    if not _english():
        return explain_vi.legal_time(case)
    if case.get("same_day"):
        return "resolved the same day"
    if case.get("legal_days"):
        return f"{case['legal_days']} working days"
    if case.get("legal_hours"):
        return f"{case['legal_hours']} working hours"
    return ""


def time_left(due_at: str | datetime | None, now: datetime, paused: bool = False) -> tuple[str, bool]:
    """Like ``explain_vi.time_left``: ("2 working days 3 h left", False), ("overdue by …", True)."""
    if not _english():
        return explain_vi.time_left(due_at, now, paused)
    if paused:
        return "paused, awaiting supplement", False
    due = parse_instant(due_at)
    if due is None:
        return "", False
    minutes = DEFAULT_CALENDAR.working_minutes_between(now, due)
    if minutes >= 0 and due >= now:
        return f"{duration(DEFAULT_CALENDAR, minutes)} left", False
    return f"overdue by {duration(DEFAULT_CALENDAR, minutes)}", True


def explanation(case: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    if not _english():
        return explain_vi.explanation(case, history)
    clock = case.get("clock") or {}
    lines = [str(line) for line in clock.get("explanation") or []]
    lines.extend(f"Note: {reason['en']}." for reason in clock.get("late_reasons") or [] if reason.get("en"))
    return lines


def citizen_explanation(view: dict[str, Any]) -> list[str]:
    if not _english():
        return explain_vi.citizen_explanation(view)
    return [str(line) for line in view.get("explanation") or []]


def unit_name(code: str | None) -> str:
    """A department's or desk's name in the page's language, its code when it is not known."""
    unit = name_of(code)
    if unit is None:
        return code or ""
    return unit.name_en if _english() and unit.name_en else unit.name_vi
