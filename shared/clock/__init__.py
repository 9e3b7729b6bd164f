"""The legal clock: working calendar, legal time, rule sets and the pure deadline computation.

Start with ``appointment_for`` (intake) and ``read_clock`` (processing, history, scoring); the
counting convention is documented in ``shared.clock.legal_clock``.
"""

from shared.clock.appointment import DEFAULT_CALENDAR, appointment_for, clock_start, local_today
from shared.clock.calendar import (
    MON_TO_FRI,
    MON_TO_FRI_AND_SATURDAY_MORNING,
    DayOverride,
    WorkingCalendar,
)
from shared.clock.facts import (
    AgencyTime,
    ClockFact,
    ClockReading,
    Finished,
    Reappointed,
    Received,
    Status,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
)
from shared.clock.legal_clock import read_clock
from shared.clock.legal_time import LegalTime
from shared.clock.rulesets import RULESETS, RuleSet, SupplementPolicy, ruleset_for

__all__ = [
    "DEFAULT_CALENDAR",
    "MON_TO_FRI",
    "MON_TO_FRI_AND_SATURDAY_MORNING",
    "RULESETS",
    "AgencyTime",
    "ClockFact",
    "ClockReading",
    "DayOverride",
    "Finished",
    "LegalTime",
    "Reappointed",
    "Received",
    "RuleSet",
    "Status",
    "SupplementCompleted",
    "SupplementPolicy",
    "SupplementRequested",
    "Transferred",
    "WorkingCalendar",
    "appointment_for",
    "clock_start",
    "local_today",
    "read_clock",
    "ruleset_for",
]
