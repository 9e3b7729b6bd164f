"""Vietnamese public holidays from the ``holidays`` package, cached per year.

The package computes the lunar holidays (Tết, Hùng Kings), the yearly day swaps announced by the
government ("Day off (substituted from ...)") and the make-up working Saturdays
(``weekend_workdays``). Building a ``holidays.VN`` object costs far more than a dict lookup, and the
scoring service replays millions of events, so each year is computed once per process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from holidays import country_holidays


@dataclass(frozen=True)
class HolidayYear:
    """Everything the package knows about one year, as plain immutable lookups."""

    days_off: dict[date, str]  # date -> "English name (Vietnamese name)"
    make_up_working_days: frozenset[date]  # weekend days that are working days this year
    # date -> the Vietnamese name alone, for pages in Vietnamese ("Tết Nguyên Đán")
    days_off_vi: dict[date, str] = field(default_factory=dict)


@lru_cache(maxsize=256)
def vn_holiday_year(year: int) -> HolidayYear:
    english = country_holidays("VN", years=year, language="en_US")
    vietnamese = country_holidays("VN", years=year, language="vi")
    days_off = {day: _bilingual(name, vietnamese.get(day)) for day, name in sorted(english.items())}
    # weekend_workdays accumulates entries of other years too: keep only this year's.
    make_up = frozenset(d for d in english.weekend_workdays if d.year == year)
    names_vi = {day: vietnamese.get(day) or name for day, name in sorted(english.items())}
    return HolidayYear(days_off=days_off, make_up_working_days=make_up, days_off_vi=names_vi)


def _bilingual(english: str, vietnamese: str | None) -> str:
    if not vietnamese or vietnamese == english:
        return english
    return f"{english} ({vietnamese})"
