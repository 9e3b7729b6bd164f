"""The legal clock: working calendar, legal time, rule sets and the pure deadline computation."""

from shared.clock.appointment import DEFAULT_CALENDAR, appointment_for, clock_start
from shared.clock.calendar import (
    MON_TO_FRI,
    MON_TO_FRI_AND_SATURDAY_MORNING,
    DayOverride,
    WorkingCalendar,
)
from shared.clock.legal_time import LegalTime

__all__ = [
    "DEFAULT_CALENDAR",
    "MON_TO_FRI",
    "MON_TO_FRI_AND_SATURDAY_MORNING",
    "DayOverride",
    "LegalTime",
    "WorkingCalendar",
    "appointment_for",
    "clock_start",
]
