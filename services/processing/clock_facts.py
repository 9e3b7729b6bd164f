"""A case's clock facts kept as plain data (snapshot-safe), turned into the clock's types on read."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from shared.clock import LegalTime
from shared.clock.calendars import calendar_named
from shared.clock.facts import (
    ClockFact,
    ClockReading,
    Finished,
    Reappointed,
    Received,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
)
from shared.clock.legal_clock import GrowingClock


def fact(kind: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "at": at, **extra}


def to_clock_fact(raw: dict[str, Any]) -> ClockFact:
    kind, at = raw["kind"], raw["at"]
    if kind == "received":
        return Received(at=at, agency=raw["agency"])
    if kind == "supplement_requested":
        return SupplementRequested(at=at, number=raw["number"])
    if kind == "supplement_completed":
        return SupplementCompleted(at=at)
    if kind == "transferred":
        return Transferred(at=at, agency=raw["agency"], share_days=raw.get("share_days"))
    if kind == "reappointed":
        return Reappointed(at=at, new_due=raw["new_due"], reason=raw["reason"])
    if kind == "finished":
        return Finished(at=at)
    raise ValueError(f"unknown clock fact {kind!r}")


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


def read(facts: list[dict[str, Any]], *, clock: GrowingClock, now: datetime) -> ClockReading:
    return clock.read([to_clock_fact(f) for f in facts], now)


def stamp(reading: ClockReading) -> dict[str, Any]:
    """A reading as plain data, kept with the step it follows (``Case._stamped``)."""
    return {
        "due_at": reading.due_at,
        "original_due_at": reading.original_due_at,
        "working_minutes": reading.processing_minutes,
        "minutes_left": reading.minutes_left,
        "supplement_minutes": reading.supplement_minutes,
        "paused": reading.paused,
        "status": reading.status,
        "late": reading.late,
        "late_reasons_en": [r.en for r in reading.late_reasons],
        "late_reasons_vi": [r.vi for r in reading.late_reasons],
    }
