"""The appointment date at intake, from the shared legal clock (so all services agree)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from shared.clock import LegalTime, appointment_for
from shared.clock.calendars import calendar_named


def legal_time_of(procedure: Any) -> LegalTime:
    if procedure.same_day:
        return LegalTime.same_day()
    if procedure.legal_hours is not None:
        return LegalTime.hours(procedure.legal_hours)
    return LegalTime.days(procedure.legal_days)


def appointment(procedure: Any, received_at: datetime, calendar: str = "standard") -> datetime:
    cutoff = time.fromisoformat(procedure.same_day_cutoff) if procedure.same_day_cutoff else None
    return appointment_for(received_at, legal_time_of(procedure), calendar_named(calendar), cutoff=cutoff)
