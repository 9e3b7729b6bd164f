"""Named working calendars: an agency's office hours are configuration, not code.

Most agencies work Monday to Friday; some one-stop desks also open on Saturday morning. A
dossier keeps the calendar's name, so every service reads its clock with the same hours.
"""

from __future__ import annotations

from shared.clock.appointment import DEFAULT_CALENDAR
from shared.clock.calendar import MON_TO_FRI_AND_SATURDAY_MORNING, WorkingCalendar

STANDARD = "standard"
SATURDAY_MORNING = "saturday_morning"

CALENDARS: dict[str, WorkingCalendar] = {
    STANDARD: DEFAULT_CALENDAR,
    SATURDAY_MORNING: WorkingCalendar(weekly_hours=MON_TO_FRI_AND_SATURDAY_MORNING),
}


def calendar_named(name: str | None) -> WorkingCalendar:
    if not name:
        return DEFAULT_CALENDAR
    try:
        return CALENDARS[name]
    except KeyError:
        raise ValueError(f"unknown working calendar {name!r}; known: {sorted(CALENDARS)}") from None
