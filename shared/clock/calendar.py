"""The working calendar of a one-stop desk: office hours, public holidays, local overrides.

Conventions (used by every function here and by the legal clock):

* All arithmetic happens in the calendar's own time zone (Asia/Ho_Chi_Minh by default), whatever the
  server's TZ. Inputs may be aware datetimes in any zone; naive datetimes are refused (ValueError),
  because guessing their zone is exactly how systems report dossiers late that were not.
  Results are aware datetimes in the calendar's zone.
* An office session is half-open, ``[start, end)``: 11:30 and 17:00 are *not* working moments.
* ``add_working_time(start, m)`` with ``m > 0`` returns the end of the m-th working minute counted
  from ``start``. It is therefore either a working moment or the exact end of a session: time that
  runs out exactly at 11:30 lands at 11:30, not at 13:30. ``m == 0`` returns ``start`` unchanged.
* ``working_minutes_between(a, b)`` counts whole working minutes (truncated) in ``[a, b)``;
  it is antisymmetric (negative when ``b < a``).
* A day is a working day if it has at least one office session. Precedence: the local override
  table, then the public holidays of the ``holidays`` package (VN), then its make-up working
  Saturdays (they get the Monday office hours), then the weekly office hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.clock.office_hours import (
    MON_TO_FRI,
    MON_TO_FRI_AND_SATURDAY_MORNING,
    SATURDAY_MORNING,
    SEARCH_LIMIT_DAYS,
    US_PER_DAY,
    US_PER_MINUTE,
    WEEKDAY_HOURS,
    Session,
    Spans,
    combine,
    offset_us,
    to_spans,
)
from shared.clock.public_holidays import vn_holiday_year

__all__ = [
    "MON_TO_FRI",
    "MON_TO_FRI_AND_SATURDAY_MORNING",
    "SATURDAY_MORNING",
    "WEEKDAY_HOURS",
    "DayOverride",
    "Session",
    "WorkingCalendar",
]


@dataclass(frozen=True)
class DayOverride:
    """A local exception the ``holidays`` package does not know yet (e.g. a newly announced swap)."""

    day: date
    working: bool  # True: extra working day (Monday hours); False: extra day off
    reason: str


@dataclass(frozen=True)
class WorkingCalendar:
    weekly_hours: tuple[tuple[Session, ...], ...] = MON_TO_FRI  # index 0 = Monday
    timezone: str = "Asia/Ho_Chi_Minh"
    overrides: tuple[DayOverride, ...] = ()
    # 8 office hours make one legal working day, also on short Saturday sessions
    # (docs/domain-rules.md, "The legal clock").
    minutes_per_day: int = 480
    public_holidays: bool = True

    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _weekly: tuple[Spans, ...] = field(init=False, repr=False, compare=False)
    _override_by_day: dict[date, DayOverride] = field(init=False, repr=False, compare=False)
    _day_cache: dict[date, Spans] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.weekly_hours) != 7:
            raise ValueError("weekly_hours needs 7 entries, Monday first")
        weekly = tuple(to_spans(sessions) for sessions in self.weekly_hours)
        by_day = {o.day: o for o in self.overrides}
        if len(by_day) != len(self.overrides):
            raise ValueError("two overrides for the same day")
        # Frozen for callers; these derived caches are set once here.
        object.__setattr__(self, "_tz", ZoneInfo(self.timezone))
        object.__setattr__(self, "_weekly", weekly)
        object.__setattr__(self, "_override_by_day", by_day)
        object.__setattr__(self, "_day_cache", {})

    # ----- days ---------------------------------------------------------------------------------

    def _spans(self, day: date) -> Spans:
        spans = self._day_cache.get(day)
        if spans is None:
            spans = self._compute_spans(day)
            self._day_cache[day] = spans
        return spans

    def _compute_spans(self, day: date) -> Spans:
        override = self._override_by_day.get(day)
        if override is not None:
            return self._weekly[0] if override.working else ()
        if self.public_holidays:
            year = vn_holiday_year(day.year)
            if day in year.days_off:
                return ()
            if day in year.make_up_working_days:
                return self._weekly[0]
        return self._weekly[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        return bool(self._spans(day))

    def is_regular_working_weekday(self, day: date) -> bool:
        """Whether the weekly office hours open on this weekday (ignoring holidays)."""
        return bool(self._weekly[day.weekday()])

    def day_off_reason(self, day: date) -> str | None:
        """Why a day that would normally be worked is off (holiday name or override reason)."""
        override = self._override_by_day.get(day)
        if override is not None:
            return None if override.working else override.reason
        if self.public_holidays:
            return vn_holiday_year(day.year).days_off.get(day)
        return None

    def extra_working_day_reason(self, day: date) -> str | None:
        """Why a day that is normally off (a weekend day) is worked, e.g. a make-up Saturday."""
        override = self._override_by_day.get(day)
        if override is not None:
            return override.reason if override.working else None
        if self.public_holidays and day in vn_holiday_year(day.year).make_up_working_days:
            return "make-up working day (ngày làm bù)"
        return None

    def end_of_working_day(self, day: date) -> datetime | None:
        spans = self._spans(day)
        return combine(day, spans[-1][1], self._tz) if spans else None

    # ----- moments ------------------------------------------------------------------------------

    def to_local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment!r}: give a time zone")
        return moment.astimezone(self._tz)

    def is_working_moment(self, moment: datetime) -> bool:
        local = self.to_local(moment)
        pos = offset_us(local)
        return any(start <= pos < end for start, end in self._spans(local.date()))

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself if it is a working moment, else the start of the next session."""
        local = self.to_local(moment)
        day, pos = local.date(), offset_us(local)
        for _ in range(SEARCH_LIMIT_DAYS):
            for start, end in self._spans(day):
                if pos < end:
                    return local if pos >= start else combine(day, start, self._tz)
            day, pos = day + timedelta(days=1), 0
        raise ValueError("no working moment within two years: check the calendar")

    def start_of_next_working_day(self, day: date) -> datetime:
        return self.next_working_moment(combine(day + timedelta(days=1), 0, self._tz))

    def add_working_time(self, start: datetime, minutes: int) -> datetime:
        if minutes < 0:
            raise ValueError("minutes must be >= 0")
        local = self.to_local(start)
        if minutes == 0:
            return local
        remaining = minutes * US_PER_MINUTE
        day, pos = local.date(), offset_us(local)
        idle_days = 0
        while True:
            spans = self._spans(day)
            day_total = sum(end - begin for begin, end in spans)
            if pos == 0 and remaining > day_total:
                # Whole-day skip: the day cannot hold the rest, so take all of it at once.
                remaining -= day_total
            else:
                for begin, end in spans:
                    if pos >= end:
                        continue
                    available = end - max(pos, begin)
                    if remaining <= available:  # "<=": ending at a session end stays there
                        return combine(day, max(pos, begin) + remaining, self._tz)
                    remaining -= available
            idle_days = 0 if spans else idle_days + 1
            if idle_days > SEARCH_LIMIT_DAYS:
                raise ValueError("no working moment within two years: check the calendar")
            day, pos = day + timedelta(days=1), 0

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole working minutes in ``[a, b)``; negative if ``b`` is before ``a``."""
        la, lb = self.to_local(a), self.to_local(b)
        if lb < la:
            return -self.working_minutes_between(lb, la)
        total = 0
        day, last = la.date(), lb.date()
        while day <= last:
            lo = offset_us(la) if day == la.date() else 0
            hi = offset_us(lb) if day == last else US_PER_DAY
            for begin, end in self._spans(day):
                total += max(0, min(end, hi) - max(begin, lo))
            day += timedelta(days=1)
        return total // US_PER_MINUTE
