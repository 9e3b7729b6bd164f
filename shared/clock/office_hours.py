"""Office sessions as integer microseconds since local midnight, and the default office hours."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

US_PER_MINUTE = 60_000_000
US_PER_DAY = 24 * 60 * US_PER_MINUTE
# A calendar with no working day in two years is a configuration error, not a reason to loop forever.
SEARCH_LIMIT_DAYS = 2 * 366

Session = tuple[time, time]
WEEKDAY_HOURS: tuple[Session, ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
SATURDAY_MORNING: tuple[Session, ...] = ((time(7, 0), time(11, 30)),)
MON_TO_FRI: tuple[tuple[Session, ...], ...] = (WEEKDAY_HOURS,) * 5 + ((), ())
MON_TO_FRI_AND_SATURDAY_MORNING: tuple[tuple[Session, ...], ...] = (WEEKDAY_HOURS,) * 5 + (
    SATURDAY_MORNING,
    (),
)

Spans = tuple[tuple[int, int], ...]  # sessions as microseconds since local midnight


def to_spans(sessions: tuple[Session, ...]) -> Spans:
    spans = tuple((time_us(s), time_us(e)) for s, e in sessions)
    previous_end = -1
    for begin, end in spans:
        if not previous_end <= begin < end:
            raise ValueError(f"office sessions must be ordered and non-empty: {sessions}")
        previous_end = end
    return spans


def time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def offset_us(local: datetime) -> int:
    return time_us(local.time())


def combine(day: date, offset_us: int, tz: ZoneInfo) -> datetime:
    # Build the wall-clock time directly: Vietnam has no DST, and office hours are wall-clock hours.
    seconds, micro = divmod(offset_us, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=tz)
