"""Reporting periods (kỳ báo cáo): day, month, quarter, year, in the desk's local time."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from shared.clock import DEFAULT_CALENDAR

PeriodKind = Literal["day", "month", "quarter", "year"]
KINDS: tuple[PeriodKind, ...] = ("day", "month", "quarter", "year")


def local_date(moment: datetime) -> date:
    return DEFAULT_CALENDAR.to_local(moment).date()


def period_start(kind: PeriodKind, day: date) -> date:
    if kind == "day":
        return day
    if kind == "month":
        return day.replace(day=1)
    if kind == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def next_period_start(kind: PeriodKind, start: date) -> date:
    if kind == "day":
        return date.fromordinal(start.toordinal() + 1)
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def bounds(kind: PeriodKind, start: date) -> tuple[datetime, datetime]:
    """[start, end) of the period as aware moments at local midnight."""
    zone = ZoneInfo(DEFAULT_CALENDAR.timezone)
    begin = datetime.combine(period_start(kind, start), time(0), tzinfo=zone)
    end = datetime.combine(next_period_start(kind, period_start(kind, start)), time(0), tzinfo=zone)
    return begin, end


def periods_of(moment: datetime) -> tuple[tuple[PeriodKind, date], ...]:
    return _periods_of_day(local_date(moment))


@lru_cache(maxsize=4096)
def _periods_of_day(day: date) -> tuple[tuple[PeriodKind, date], ...]:
    # Every dossier of a day asks the same; a replay asks once per dossier and part.
    return tuple((kind, period_start(kind, day)) for kind in KINDS)
