"""Worked examples for the working calendar; every expected value is computed by hand in comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from shared.clock import (
    DEFAULT_CALENDAR,
    MON_TO_FRI_AND_SATURDAY_MORNING,
    DayOverride,
    LegalTime,
    WorkingCalendar,
    appointment_for,
)
from tests.unit.clock.helpers import vn

CAL = DEFAULT_CALENDAR
DAY = 480  # working minutes in one legal day


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before Tết
        (date(2026, 2, 16), False),  # Lunar New Year's Eve 2026
        (date(2026, 2, 20), False),  # 4th day of Tết
        (date(2026, 2, 23), True),
        (date(2026, 4, 27), False),  # Hùng Kings observed (26 April is a Sunday)
        (date(2026, 8, 22), True),  # make-up working Saturday
        (date(2026, 8, 31), False),  # the day off swapped for 22 August
        (date(2026, 11, 24), False),  # Vietnam Cultural Day, new from 2026
        (date(2027, 2, 4), False),  # Tết 2027: 29th of the 12th lunar month ...
        (date(2027, 2, 10), False),  # ... to the 5th day
        (date(2027, 2, 11), True),
        (date(2026, 3, 7), False),  # an ordinary Saturday
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_session_boundaries_are_half_open() -> None:
    assert CAL.is_working_moment(vn(2026, 3, 2, 7, 0))
    assert not CAL.is_working_moment(vn(2026, 3, 2, 11, 30))
    assert not CAL.is_working_moment(vn(2026, 3, 2, 12, 0))
    assert CAL.is_working_moment(vn(2026, 3, 2, 13, 30))
    assert not CAL.is_working_moment(vn(2026, 3, 2, 17, 0))


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.is_working_moment(datetime(2026, 3, 2, 9, 0))


def test_adding_time_that_ends_at_11_30_lands_at_11_30() -> None:
    # Mon 2026-03-02 09:00 + 150 min: 09:00 -> 11:30 is exactly 150 minutes.
    assert CAL.add_working_time(vn(2026, 3, 2, 9), 150) == vn(2026, 3, 2, 11, 30)
    # One more minute jumps the lunch break: 13:31.
    assert CAL.add_working_time(vn(2026, 3, 2, 9), 151) == vn(2026, 3, 2, 13, 31)


def test_one_day_from_monday_nine_is_tuesday_nine() -> None:
    # Mon 09:00 -> 17:00 = 150 + 210 = 360 min; 120 more on Tuesday from 07:00 -> 09:00.
    assert CAL.add_working_time(vn(2026, 3, 2, 9), DAY) == vn(2026, 3, 3, 9)


def test_next_working_moment() -> None:
    assert CAL.next_working_moment(vn(2026, 3, 2, 12, 0)) == vn(2026, 3, 2, 13, 30)
    assert CAL.next_working_moment(vn(2026, 3, 6, 17, 0)) == vn(2026, 3, 9, 7, 0)  # Fri -> Mon
    # Fri 2026-02-13 evening: Tết 16-20 Feb, weekend 21-22 -> Mon 23 Feb 07:00.
    assert CAL.next_working_moment(vn(2026, 2, 13, 18)) == vn(2026, 2, 23, 7)


def test_utc_input_gives_the_same_answer() -> None:
    # 02:00 UTC is 09:00 in Hanoi (UTC+7).
    utc = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert CAL.add_working_time(utc, DAY) == vn(2026, 3, 3, 9)
    assert CAL.add_working_time(utc, DAY).utcoffset() == timedelta(hours=7)


def test_tet_2026_appointment() -> None:
    # Received Fri 2026-02-13 16:40, 5 days = 2400 min. Fri: 16:40-17:00 = 20 -> 2380 left.
    # Mon 16 .. Fri 20 Feb are Tết; weekend 21-22. Mon 23, Tue 24, Wed 25, Thu 26: 4 x 480 = 1920
    # -> 460 left. Fri 27: morning 270 -> 190 left; 13:30 + 190 min = 16:40.
    due = appointment_for(vn(2026, 2, 13, 16, 40), LegalTime.days(5))
    assert due == vn(2026, 2, 27, 16, 40)


def test_tet_2027_appointment() -> None:
    # Received Wed 2027-02-03 10:00, 3 days = 1440 min. Wed: 10:00-11:30 = 90, afternoon 210
    # -> 300 used, 1140 left. Thu 4 .. Wed 10 Feb off (Tết 4-10 incl. the weekend).
    # Thu 11: 480 -> 660 left; Fri 12: 480 -> 180 left; Mon 15: 07:00 + 180 = 10:00.
    due = appointment_for(vn(2027, 2, 3, 10), LegalTime.days(3))
    assert due == vn(2027, 2, 15, 10)


def test_hung_kings_2026_appointment() -> None:
    # Received Fri 2026-04-24 14:00, 2 days = 960. Fri 14:00-17:00 = 180 -> 780 left.
    # Mon 27 Apr is Hùng Kings observed. Tue 28: 480 -> 300 left. Wed 29: 270 in the morning
    # -> 30 left; 13:30 + 30 = 14:00.
    due = appointment_for(vn(2026, 4, 24, 14), LegalTime.days(2))
    assert due == vn(2026, 4, 29, 14)


def test_make_up_saturday_and_swapped_monday_2026() -> None:
    # Received Fri 2026-08-21 09:00, 2 days = 960. Fri: 360 -> 600 left.
    # Sat 22 Aug is a make-up working day (Monday hours): 480 -> 120 left.
    # Sun 23: off. Mon 24: 07:00 + 120 = 09:00.
    assert appointment_for(vn(2026, 8, 21, 9), LegalTime.days(2)) == vn(2026, 8, 24, 9)
    # Received Fri 2026-08-28 09:00, 1 day: Fri 360 -> 120 left. Mon 31 Aug (swapped day off),
    # Tue 1 and Wed 2 Sep (National Day) are off. Thu 3 Sep 07:00 + 120 = 09:00.
    assert appointment_for(vn(2026, 8, 28, 9), LegalTime.days(1)) == vn(2026, 9, 3, 9)


def test_vietnam_cultural_day_2026() -> None:
    # Received Mon 2026-11-23 13:30, 1 day = 480. Mon afternoon 210 -> 270 left.
    # Tue 24 Nov is off. Wed 25: morning 07:00-11:30 = 270 exactly -> lands at 11:30.
    assert appointment_for(vn(2026, 11, 23, 13, 30), LegalTime.days(1)) == vn(2026, 11, 25, 11, 30)


def test_same_day_with_15_00_cutoff() -> None:
    cutoff = time(15, 0)
    # Before the cut-off: due at the end of the same working day.
    assert appointment_for(vn(2026, 3, 2, 14, 59), LegalTime.same_day(), cutoff=cutoff) == vn(2026, 3, 2, 17)
    # At/after 15:00: counts from the next working day, so due Tue 17:00.
    assert appointment_for(vn(2026, 3, 2, 15, 0), LegalTime.same_day(), cutoff=cutoff) == vn(2026, 3, 3, 17)
    # Friday 2026-02-13 15:30: the next working day is Mon 23 Feb (after Tết).
    assert appointment_for(vn(2026, 2, 13, 15, 30), LegalTime.same_day(), cutoff=cutoff) == vn(
        2026, 2, 23, 17
    )
    # The cut-off also applies to procedures in hours: Mon 15:10 -> Tue 07:00 + 4 h = 11:00.
    assert appointment_for(vn(2026, 3, 2, 15, 10), LegalTime.hours(4), cutoff=cutoff) == vn(2026, 3, 3, 11)


def test_received_outside_office_hours_starts_next_working_moment() -> None:
    # Sat 2026-03-07 10:00 -> clock starts Mon 07:00; 4 h -> 11:00.
    assert appointment_for(vn(2026, 3, 7, 10), LegalTime.hours(4)) == vn(2026, 3, 9, 11)
    # Lunch 12:15 -> 13:30; 4 h = 210 (to 17:00) + 30 next morning -> Tue 07:30.
    assert appointment_for(vn(2026, 3, 2, 12, 15), LegalTime.hours(4)) == vn(2026, 3, 3, 7, 30)


def test_local_overrides_win() -> None:
    cal = WorkingCalendar(
        overrides=(
            DayOverride(date(2026, 3, 3), working=False, reason="provincial swap (test)"),
            DayOverride(date(2026, 3, 7), working=True, reason="make-up Saturday (test)"),
        )
    )
    assert not cal.is_working_day(date(2026, 3, 3))
    assert cal.day_off_reason(date(2026, 3, 3)) == "provincial swap (test)"
    assert cal.is_working_day(date(2026, 3, 7))
    # Mon 2026-03-02 09:00 + 1 day: Mon 360, Tue off, Wed 07:00 + 120 = 09:00.
    assert cal.add_working_time(vn(2026, 3, 2, 9), DAY) == vn(2026, 3, 4, 9)


def test_saturday_morning_desk() -> None:
    cal = WorkingCalendar(weekly_hours=MON_TO_FRI_AND_SATURDAY_MORNING)
    # Fri 2026-03-06 16:00 + 1 day: Fri 60 -> 420 left; Sat 07:00-11:30 = 270 -> 150 left;
    # Mon 07:00 + 150 = 09:30.
    assert cal.add_working_time(vn(2026, 3, 6, 16), DAY) == vn(2026, 3, 9, 9, 30)
    # A holiday Saturday stays closed: Sat 2027-02-06 (Tết 2027).
    assert not cal.is_working_day(date(2027, 2, 6))


def test_working_minutes_between_examples() -> None:
    # Fri 2026-02-13 16:40 -> Mon 2026-02-23 08:00: 20 (Fri) + 60 (Mon) across Tết.
    assert CAL.working_minutes_between(vn(2026, 2, 13, 16, 40), vn(2026, 2, 23, 8)) == 80
    assert CAL.working_minutes_between(vn(2026, 2, 23, 8), vn(2026, 2, 13, 16, 40)) == -80
