"""From a dossier's published events to the legal clock's inputs (no date math of our own)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from shared.clock import (
    ClockFact,
    ClockReading,
    Finished,
    LegalTime,
    Reappointed,
    Received,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
    read_clock,
)
from shared.clock.calendars import calendar_named
from shared.contracts import (
    AnyEvent,
    ApologyIssued,
    CaseTransferred,
    ClosedForNoSupplement,
    DossierDecided,
    ProcessingStopped,
    SupplementReceived,
)
from shared.contracts import SupplementRequested as SupplementRequestedEvent


def clock_fact(event: AnyEvent) -> ClockFact | None:
    if isinstance(event, CaseTransferred):
        return Transferred(at=event.occurred_at, agency=event.to_department, share_days=event.share_days)
    if isinstance(event, SupplementRequestedEvent):
        return SupplementRequested(at=event.occurred_at, number=event.number)
    if isinstance(event, SupplementReceived):
        return SupplementCompleted(at=event.occurred_at)
    if isinstance(event, ApologyIssued):
        # Older events carry only the appointment in force after the apology, which is the new
        # one unless the clock was paused at the time (then it is the provisional date).
        return Reappointed(
            at=event.occurred_at, new_due=event.new_due_at or event.due_at, reason=event.reason
        )
    if isinstance(event, DossierDecided | ProcessingStopped | ClosedForNoSupplement):
        return Finished(at=event.occurred_at)
    return None


def legal_time_of(legal_days: int | None, legal_hours: int | None, same_day: bool) -> LegalTime:
    """The receipt's legal time (a received dossier carries days, hours or same-day)."""
    if same_day:
        return LegalTime.same_day()
    if legal_hours is not None:
        return LegalTime.hours(legal_hours)
    if legal_days is None:
        raise ValueError("the received dossier carries no legal time")
    return LegalTime.days(legal_days)


def read_facts(
    received: Received,
    later: Sequence[ClockFact],
    now: datetime,
    *,
    legal_time: LegalTime,
    policy: str,
    cutoff: str | None,
    calendar: str | None = None,
) -> ClockReading:
    """The clock over the receipt and the case events' clock facts (business-time order), read at
    ``now`` or its last fact.

    Raises ValueError when the sequence is not (yet) possible, e.g. a completion whose request
    has not arrived: the caller falls back to what the events themselves carry.
    """
    facts: list[ClockFact] = [received]
    for fact in later:
        if isinstance(facts[-1], Finished):
            break  # nothing after the finish moves the clock
        facts.append(fact)
    last = max(f.at for f in facts)
    return read_clock(
        facts,
        legal_time=legal_time,
        now=max(now, last),
        # the office hours of the dossier's agency, as processing reads its clock with
        calendar=calendar_named(calendar),
        policy="resume" if policy == "resume" else "restart",
        cutoff=time.fromisoformat(cutoff) if cutoff else None,
    )
