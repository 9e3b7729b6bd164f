"""Worked examples for read_clock; expected values are hand-computed in the comments.

Office hours: 07:00-11:30 (270 min) and 13:30-17:00 (210 min); 1 working day = 480 min.
"""

from __future__ import annotations

from datetime import date, time

import pytest

from shared.clock import (
    Finished,
    LegalTime,
    Reappointed,
    Received,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
    read_clock,
    ruleset_for,
)
from tests.unit.clock.helpers import vn

FIVE_DAYS = LegalTime.days(5)


def test_tet_2026_reading_and_explanation() -> None:
    # Received Fri 2026-02-13 16:40; 5 days -> due Fri 2026-02-27 16:40 (see calendar examples).
    reading = read_clock([Received(vn(2026, 2, 13, 16, 40))], legal_time=FIVE_DAYS, now=vn(2026, 2, 23, 8))
    assert reading.due_at == vn(2026, 2, 27, 16, 40)
    # Used: Fri 16:40-17:00 = 20, Mon 23 07:00-08:00 = 60 -> 80; left 2400 - 80 = 2320.
    assert reading.minutes_used == 80
    assert reading.minutes_left == 2320
    assert reading.status == "on_time"
    assert reading.explanation[0] == "received 2026-02-13 16:40; legal time 5 working days"
    assert reading.explanation[1].startswith("skipped 2026-02-16..2026-02-20 (Tết: ")
    assert "due 2026-02-27 16:40 (hẹn trả kết quả)" in reading.explanation


@pytest.mark.parametrize(
    ("policy", "due", "used", "left"),
    [
        # Received Mon 2026-03-02 09:00, 5 days (2400). Request Tue 03-03 09:00 -> 480 used
        # (Mon 09-17 = 360, Tue 07-09 = 120). Paused until Fri 03-06 09:00: Tue 09-17 360 +
        # Wed 480 + Thu 480 + Fri 07-09 120 = 1440 = 3 working days.
        # restart: 5 days from Fri 03-06 09:00: Fri 360, Mon 9..Thu 12 4 x 480 = 1920 (2280),
        #   120 left on Fri 13 -> 09:00. Now Mon 03-09 09:00: used Fri 360 + Mon 120 = 480.
        ("restart", vn(2026, 3, 13, 9), 480, 1920),
        # resume: 2400 - 480 = 1920 left from Fri 03-06 09:00: Fri 360, Mon..Wed 1440 (1800),
        #   120 left on Thu 12 -> 09:00. Now: used 480 + 480 = 960, left 1440.
        ("resume", vn(2026, 3, 12, 9), 960, 1440),
    ],
)
def test_restart_vs_resume(policy: str, due: object, used: int, left: int) -> None:
    facts = [
        Received(vn(2026, 3, 2, 9)),
        SupplementRequested(vn(2026, 3, 3, 9), number=1),
        SupplementCompleted(vn(2026, 3, 6, 9)),
    ]
    reading = read_clock(
        facts,
        legal_time=FIVE_DAYS,
        now=vn(2026, 3, 9, 9),
        policy="restart" if policy == "restart" else "resume",
    )
    assert reading.due_at == due
    assert reading.original_due_at == vn(2026, 3, 9, 9)  # Mon 09:00 + 5 x 480 -> next Mon 09:00
    assert reading.minutes_used == used
    assert reading.minutes_left == left
    assert reading.supplement_minutes == 1440
    assert reading.supplement_count == 1
    assert "paused 3 working days for supplement #1" in reading.explanation
    if policy == "restart":
        assert (
            "restarted: 5 working days from the complete dossier 2026-03-06 09:00 "
            "(Decree 297/2025 Art. 6 cl. 4(a))" in reading.explanation
        )
    else:
        assert "resumed: 1 working day already used are deducted; 4 working days left" in (
            reading.explanation
        )


def test_paused_reading_is_provisional_and_not_late() -> None:
    # Received Mon 2026-03-02 09:00, 1 day (due Tue 09:00). Paused Mon 10:00 (60 used).
    # Now Wed 03-04 09:00: resume -> 420 left from Wed 09:00: Wed 09-17 = 360, Thu 07:00 + 60.
    facts = [Received(vn(2026, 3, 2, 9)), SupplementRequested(vn(2026, 3, 2, 10), 1)]
    reading = read_clock(facts, legal_time=LegalTime.days(1), now=vn(2026, 3, 4, 9), policy="resume")
    assert reading.paused
    assert reading.status == "on_time"
    assert reading.due_at == vn(2026, 3, 5, 8)
    # Paused working time so far: Mon 10:00-11:30 = 90 + 13:30-17:00 = 210, Tue 480,
    # Wed 07-09 120 -> 900.
    assert reading.supplement_minutes == 900


def test_same_day_procedure_with_cutoff_and_statuses() -> None:
    cutoff = ruleset_for(date(2026, 3, 2)).same_day_cutoff
    assert cutoff == time(15, 0)
    same_day = LegalTime.same_day()
    # Received Mon 15:20, after the cut-off: counts from Tue 07:00, due Tue 17:00.
    facts = [Received(vn(2026, 3, 2, 15, 20))]
    tuesday_morning = read_clock(facts, legal_time=same_day, now=vn(2026, 3, 3, 8), cutoff=cutoff)
    assert tuesday_morning.due_at == vn(2026, 3, 3, 17)
    assert tuesday_morning.status == "due_today"
    assert tuesday_morning.minutes_used == 60  # Tue 07:00-08:00; Mon 15:20-17:00 does not count
    assert any("after the 15:00 cut-off" in line for line in tuesday_morning.explanation)
    assert read_clock(facts, legal_time=same_day, now=vn(2026, 3, 2, 16), cutoff=cutoff).status == ("on_time")
    late = read_clock(facts, legal_time=same_day, now=vn(2026, 3, 3, 17, 1), cutoff=cutoff)
    assert late.status == "overdue"
    done = read_clock(
        [*facts, Finished(vn(2026, 3, 3, 17))], legal_time=same_day, now=vn(2026, 3, 4, 9), cutoff=cutoff
    )
    assert done.status == "finished_on_time"  # exactly at due_at is on time


def test_finished_early_and_late() -> None:
    # 5 days from Mon 2026-03-02 09:00 -> due Mon 03-09 09:00.
    received = Received(vn(2026, 3, 2, 9))
    # Finished Fri 03-06 09:00: left = Fri 09-17 360 + Mon 07-09 120 = 480 = one full day -> early.
    early = read_clock([received, Finished(vn(2026, 3, 6, 9))], legal_time=FIVE_DAYS, now=vn(2026, 3, 6, 9))
    assert early.status == "finished_early"
    # Finished Fri 03-06 09:01: 479 left -> on time, not early.
    ok = read_clock([received, Finished(vn(2026, 3, 6, 9, 1))], legal_time=FIVE_DAYS, now=vn(2026, 3, 9))
    assert ok.status == "finished_on_time"
    late = read_clock([received, Finished(vn(2026, 3, 9, 9, 1))], legal_time=FIVE_DAYS, now=vn(2026, 3, 10))
    assert late.status == "finished_late"


def test_reappointment_replaces_the_due_date() -> None:
    # 5 days from Mon 2026-03-02 09:00 -> due Mon 03-09 09:00. Apology Thu 03-05 10:00 with a new
    # date Fri 03-13 17:00. Finished Thu 03-12 10:00: before the new due, after the original one.
    facts = [
        Received(vn(2026, 3, 2, 9)),
        Reappointed(vn(2026, 3, 5, 10), vn(2026, 3, 13, 17), reason="waiting for a site survey"),
        Finished(vn(2026, 3, 12, 10)),
    ]
    reading = read_clock(facts, legal_time=FIVE_DAYS, now=vn(2026, 3, 12, 10))
    assert reading.original_due_at == vn(2026, 3, 9, 9)
    assert reading.due_at == vn(2026, 3, 13, 17)
    assert reading.reappointments == 1
    # Left: Thu 12 10:00-17:00 = 90 + 210 = 300, Fri 13 480 = 780 -> a full day left: early.
    assert reading.status == "finished_early"
    assert (
        "appointment re-set to 2026-03-13 17:00 (was 2026-03-09 09:00): waiting for a site survey"
        in reading.explanation
    )


def test_second_reappointment_and_second_supplement_are_flagged() -> None:
    facts = [
        Received(vn(2026, 3, 2, 9)),
        SupplementRequested(vn(2026, 3, 2, 10), 1),
        SupplementCompleted(vn(2026, 3, 3, 10)),
        SupplementRequested(vn(2026, 3, 3, 11), 2),
        SupplementCompleted(vn(2026, 3, 4, 10)),
        Reappointed(vn(2026, 3, 5, 9), vn(2026, 3, 16, 17), "first"),
        Reappointed(vn(2026, 3, 6, 9), vn(2026, 3, 20, 17), "second"),
    ]
    reading = read_clock(facts, legal_time=FIVE_DAYS, now=vn(2026, 3, 6, 10))
    assert reading.supplement_count == 2
    assert reading.reappointments == 2
    assert any("late under Decision 766" in line for line in reading.explanation)
    assert any("at most once" in line for line in reading.explanation)


def test_inter_agency_split() -> None:
    # 10 days from Mon 2026-03-02 07:00. District desk holds it to Tue 03-03 07:00 (480).
    # Department A (share 6 days) from Tue 03-03 07:00 to Thu 03-12 07:00: Tue..Fri 4 x 480 +
    # Mon..Wed 3 x 480 = 3360 (7 days, over its 6-day share of 2880).
    # Department B (share 3 days) from Thu 03-12 07:00 to Fri 03-13 11:30: 480 + 270 = 750.
    facts = [
        Received(vn(2026, 3, 2, 7), agency="District one-stop desk"),
        Transferred(vn(2026, 3, 3, 7), "Department A", share_days=6),
        Transferred(vn(2026, 3, 12, 7), "Department B", share_days=3),
        Finished(vn(2026, 3, 13, 11, 30)),
    ]
    reading = read_clock(facts, legal_time=LegalTime.days(10), now=vn(2026, 3, 13, 12))
    used = {a.agency: (a.minutes_used, a.share_minutes, a.over_share) for a in reading.agencies}
    assert used == {
        "District one-stop desk": (480, None, False),
        "Department A": (3360, 2880, True),
        "Department B": (750, 1440, False),
    }
    # Total 4590; due Mon 03-02 07:00 + 4800 = Fri 03-13 17:00 (10 full days); 210 left -> on time.
    assert reading.due_at == vn(2026, 3, 13, 17)
    assert reading.minutes_used == 4590
    assert reading.status == "finished_on_time"
    assert any(line.startswith("Department A used 7 working days, over") for line in reading.explanation)


def test_make_up_saturday_in_explanation() -> None:
    # Received Fri 2026-08-21 09:00, 2 days -> due Mon 08-24 09:00 via the make-up Saturday.
    reading = read_clock([Received(vn(2026, 8, 21, 9))], legal_time=LegalTime.days(2), now=vn(2026, 8, 21, 9))
    assert reading.due_at == vn(2026, 8, 24, 9)
    assert any(line.startswith("counted 2026-08-22 as a working day") for line in reading.explanation)


def test_impossible_sequences_are_refused() -> None:
    received = Received(vn(2026, 3, 2, 9))
    with pytest.raises(ValueError):
        read_clock([SupplementCompleted(vn(2026, 3, 2, 9))], legal_time=FIVE_DAYS, now=vn(2026, 3, 2, 9))
    with pytest.raises(ValueError):
        read_clock(
            [received, SupplementCompleted(vn(2026, 3, 2, 10))], legal_time=FIVE_DAYS, now=vn(2026, 3, 3)
        )
    with pytest.raises(ValueError):
        read_clock([received, Finished(vn(2026, 3, 1))], legal_time=FIVE_DAYS, now=vn(2026, 3, 3))
    with pytest.raises(ValueError):
        read_clock([received], legal_time=FIVE_DAYS, now=vn(2026, 3, 1))
