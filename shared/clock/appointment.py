"""When the clock starts, and the appointment (due date-time) printed on the receipt slip.

See ``shared.clock.legal_clock`` for the full counting convention and its sources.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from shared.clock.calendar import WorkingCalendar
from shared.clock.legal_time import LegalTime

DEFAULT_CALENDAR = WorkingCalendar()


def local_today(now: datetime | None = None) -> date:
    """Today as the centre counts days (Asia/Ho_Chi_Minh), not as the server's clock does: from
    17:00 UTC it is already tomorrow in Viet Nam."""
    return DEFAULT_CALENDAR.to_local(now or datetime.now(UTC)).date()


def clock_start(
    received_at: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR, cutoff: time | None = None
) -> datetime:
    """The moment the legal clock starts for a complete dossier received at ``received_at``.

    Outside office hours the clock starts at the next working moment. With a cut-off (local rule
    "received after 15:00 counts from the next working day"), a dossier received on a working day
    at or after the cut-off starts at the opening of the next working day.
    """
    local = calendar.to_local(received_at)
    if cutoff is not None and calendar.is_working_day(local.date()) and local.time() >= cutoff:
        return calendar.start_of_next_working_day(local.date())
    return calendar.next_working_moment(local)


def appointment_for(
    received_at: datetime,
    legal_time: LegalTime,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
    cutoff: time | None = None,
) -> datetime:
    """Due date-time for a complete dossier received at ``received_at`` (aware datetime)."""
    start = clock_start(received_at, calendar, cutoff)
    return calendar.add_working_time(start, legal_time.to_minutes(calendar, start))
