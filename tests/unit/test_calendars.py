"""Office hours per agency: a desk open on Saturday morning counts it; the others do not."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.intake.appointment import appointment
from services.intake.catalogue import load_catalogue
from shared.clock.calendars import calendar_named

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_saturday_morning_counts_only_for_agencies_that_work_it() -> None:
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=VN)
    # 2 working hours: Friday 16:00-17:00 is one; the second is Saturday 07:00-08:00 or Monday.
    assert calendar_named("saturday_morning").add_working_time(friday_4pm, 120) == datetime(
        2026, 3, 7, 8, 0, tzinfo=VN
    )
    assert calendar_named("standard").add_working_time(friday_4pm, 120) == datetime(
        2026, 3, 9, 8, 0, tzinfo=VN
    )


def test_commune_procedures_use_their_departments_calendar() -> None:
    catalogue = load_catalogue()
    commune = next(p for p in catalogue.procedures if p.department == "UBNDX" and p.legal_days == 3)
    assert catalogue.department("UBNDX").calendar == "saturday_morning"
    friday_4pm = datetime(2026, 3, 6, 16, 0, tzinfo=VN)
    # 3 days = 24 h: Fri 1 h, Sat 4.5 h, Mon 8, Tue 8 -> 21.5, Wed 07:00 + 2.5 h = 09:30.
    assert appointment(commune, friday_4pm, "saturday_morning") == datetime(2026, 3, 11, 9, 30, tzinfo=VN)
    # Without Saturdays: Fri 1, Mon 8, Tue 8 -> 17, Wed 7 more: 07:00-11:30 (4.5) + 13:30-16:00.
    assert appointment(commune, friday_4pm) == datetime(2026, 3, 11, 16, 0, tzinfo=VN)


def test_an_unknown_calendar_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown working calendar"):
        calendar_named("sundays")


def test_today_is_the_centres_local_day_not_the_servers() -> None:
    from datetime import UTC, date, datetime

    from shared.clock import local_today

    assert local_today(datetime(2026, 11, 30, 16, 59, tzinfo=UTC)) == date(2026, 11, 30)
    # 00:00 on 1 December in Hà Nội: a month's figures asked then are December's
    assert local_today(datetime(2026, 11, 30, 17, 0, tzinfo=UTC)) == date(2026, 12, 1)
