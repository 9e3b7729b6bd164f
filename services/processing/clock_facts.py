"""A case's legal clock, made from the facts of its procedure (legal time, policy, calendar)."""

from __future__ import annotations

from datetime import time

from shared.clock import LegalTime
from shared.clock.calendars import calendar_named
from shared.clock.legal_clock import GrowingClock


def legal_time(legal_days: int | None, legal_hours: int | None, same_day: bool = False) -> LegalTime:
    if same_day:
        return LegalTime.same_day()
    if legal_hours is not None:
        return LegalTime.hours(legal_hours)
    if legal_days is None:
        raise ValueError("a procedure needs legal_days or legal_hours")
    return LegalTime.days(legal_days)


def growing_clock(
    *,
    legal_days: int | None,
    legal_hours: int | None,
    policy: str,
    cutoff: str | None,
    calendar: str,
    same_day: bool = False,
) -> GrowingClock:
    """A case's clock, to be read as its facts grow (see ``GrowingClock``)."""
    return GrowingClock(
        legal_time=legal_time(legal_days, legal_hours, same_day),
        calendar=calendar_named(calendar),
        policy="resume" if policy == "resume" else "restart",
        cutoff=time.fromisoformat(cutoff) if cutoff else None,
    )
