"""Rule sets: a dossier is judged by the rules in force on the day it was received."""

from __future__ import annotations

from datetime import date, time

import pytest

from shared.clock import RULESETS, LegalTime, Received, read_clock, ruleset_for
from tests.unit.clock.helpers import vn


def test_rules_in_force_on_the_day_of_receipt() -> None:
    assert "Decree 61/2018" in ruleset_for(date(2025, 6, 30)).legal_basis
    current = ruleset_for(date(2025, 7, 1))
    assert "Decree 118/2025" in current.legal_basis
    assert current.default_supplement_policy == "restart"
    assert current.supplement_request_window_hours == 8
    assert current.supplement_deadline_days == 15
    assert current.max_reappointments == 1
    assert current.apology_notice_days_before_due == 1
    assert current.same_day_cutoff == time(15, 0)
    assert ruleset_for(date(2030, 1, 1)) is RULESETS[-1]


def test_no_rules_before_the_first_set() -> None:
    with pytest.raises(ValueError):
        ruleset_for(date(2018, 8, 20))


def test_tet_2027_and_hung_kings_explanations() -> None:
    # Received Wed 2027-02-03 10:00, 3 days -> due Mon 2027-02-15 10:00 (calendar examples).
    tet = read_clock([Received(vn(2027, 2, 3, 10))], legal_time=LegalTime.days(3), now=vn(2027, 2, 3, 10))
    assert tet.due_at == vn(2027, 2, 15, 10)
    assert tet.explanation[1].startswith("skipped 2027-02-04..2027-02-10 (Tết: ")
    # Received Fri 2026-04-24 14:00, 2 days -> due Wed 2026-04-29 14:00; Sun 26 + Mon 27 (observed).
    hung = read_clock([Received(vn(2026, 4, 24, 14))], legal_time=LegalTime.days(2), now=vn(2026, 4, 24, 14))
    assert hung.due_at == vn(2026, 4, 29, 14)
    assert hung.explanation[1].startswith("skipped 2026-04-26..2026-04-27 (Hung Kings")
    # Received Mon 2026-11-23 13:30, 1 day -> due Wed 2026-11-25 11:30 (24 Nov is off).
    culture = read_clock(
        [Received(vn(2026, 11, 23, 13, 30))], legal_time=LegalTime.days(1), now=vn(2026, 11, 23, 14)
    )
    assert culture.due_at == vn(2026, 11, 25, 11, 30)
    assert culture.explanation[1].startswith("skipped 2026-11-24 (Vietnam Cultural Day")
