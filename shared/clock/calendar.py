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
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.clock.public_holidays import vn_holiday_year

US_PER_MINUTE = 60_000_000
_US_PER_DAY = 24 * 60 * US_PER_MINUTE
# A calendar with no working day in two years is a configuration error, not a reason to loop forever.
_SEARCH_LIMIT_DAYS = 2 * 366

Session = tuple[time, time]
WEEKDAY_HOURS: tuple[Session, ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
SATURDAY_MORNING: tuple[Session, ...] = ((time(7, 0), time(11, 30)),)
MON_TO_FRI: tuple[tuple[Session, ...], ...] = (WEEKDAY_HOURS,) * 5 + ((), ())
MON_TO_FRI_AND_SATURDAY_MORNING: tuple[tuple[Session, ...], ...] = (
    (WEEKDAY_HOURS,) * 5 + (SATURDAY_MORNING, ())
)

_Spans = tuple[tuple[int, int], ...]  # sessions as microseconds since local midnight


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
    # 8 office hours make one legal working day (DESIGN §1b), also on short Saturday sessions.
    minutes_per_day: int = 480
    public_holidays: bool = True

    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _weekly: tuple[_Spans, ...] = field(init=False, repr=False, compare=False)
    _override_by_day: dict[date, DayOverride] = field(init=False, repr=False, compare=False)
    _day_cache: dict[date, _Spans] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.weekly_hours) != 7:
            raise ValueError("weekly_hours needs 7 entries, Monday first")
        weekly = tuple(_to_spans(sessions) for sessions in self.weekly_hours)
        by_day = {o.day: o for o in self.overrides}
        if len(by_day) != len(self.overrides):
            raise ValueError("two overrides for the same day")
        # Frozen for callers; these derived caches are set once here.
        object.__setattr__(self, "_tz", ZoneInfo(self.timezone))
        object.__setattr__(self, "_weekly", weekly)
        object.__setattr__(self, "_override_by_day", by_day)
        object.__setattr__(self, "_day_cache", {})

    # ----- days ---------------------------------------------------------------------------------

    def _spans(self, day: date) -> _Spans:
        spans = self._day_cache.get(day)
        if spans is None:
            spans = self._compute_spans(day)
            self._day_cache[day] = spans
        return spans

    def _compute_spans(self, day: date) -> _Spans:
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

    def working_minutes_on(self, day: date) -> int:
        return sum(end - start for start, end in self._spans(day)) // US_PER_MINUTE

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
        return _combine(day, spans[-1][1], self._tz) if spans else None

    # ----- moments ------------------------------------------------------------------------------

    def to_local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment!r}: give a time zone")
        return moment.astimezone(self._tz)

    def is_working_moment(self, moment: datetime) -> bool:
        local = self.to_local(moment)
        pos = _offset(local)
        return any(start <= pos < end for start, end in self._spans(local.date()))

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself if it is a working moment, else the start of the next session."""
        local = self.to_local(moment)
        day, pos = local.date(), _offset(local)
        for _ in range(_SEARCH_LIMIT_DAYS):
            for start, end in self._spans(day):
                if pos < end:
                    return local if pos >= start else _combine(day, start, self._tz)
            day, pos = day + timedelta(days=1), 0
        raise ValueError("no working moment within two years: check the calendar")

    def start_of_next_working_day(self, day: date) -> datetime:
        return self.next_working_moment(_combine(day + timedelta(days=1), 0, self._tz))

    def add_working_time(self, start: datetime, minutes: int) -> datetime:
        if minutes < 0:
            raise ValueError("minutes must be >= 0")
        local = self.to_local(start)
        if minutes == 0:
            return local
        remaining = minutes * US_PER_MINUTE
        day, pos = local.date(), _offset(local)
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
                        return _combine(day, max(pos, begin) + remaining, self._tz)
                    remaining -= available
            idle_days = 0 if spans else idle_days + 1
            if idle_days > _SEARCH_LIMIT_DAYS:
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
            lo = _offset(la) if day == la.date() else 0
            hi = _offset(lb) if day == last else _US_PER_DAY
            for begin, end in self._spans(day):
                total += max(0, min(end, hi) - max(begin, lo))
            day += timedelta(days=1)
        return total // US_PER_MINUTE


def _to_spans(sessions: tuple[Session, ...]) -> _Spans:
    spans = tuple((_time_us(s), _time_us(e)) for s, e in sessions)
    previous_end = -1
    for begin, end in spans:
        if not previous_end <= begin < end:
            raise ValueError(f"office sessions must be ordered and non-empty: {sessions}")
        previous_end = end
    return spans


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _offset(local: datetime) -> int:
    return _time_us(local.time())


def _combine(day: date, offset_us: int, tz: ZoneInfo) -> datetime:
    # Build the wall-clock time directly: Vietnam has no DST, and office hours are wall-clock hours.
    seconds, micro = divmod(offset_us, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=tz)
