"""Property tests (hypothesis) for the working calendar and the legal clock."""

from __future__ import annotations

import os
import time as time_module
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.clock import (
    DEFAULT_CALENDAR,
    LegalTime,
    Received,
    SupplementCompleted,
    SupplementRequested,
    appointment_for,
    read_clock,
)
from tests.unit.clock.helpers import VN

CAL = DEFAULT_CALENDAR
FAST = settings(max_examples=150, deadline=None)

# Moments between 2025 and 2027 (covers Tết 2026 and 2027), minute resolution, in Hanoi time.
moments = st.integers(min_value=0, max_value=3 * 365 * 24 * 60).map(
    lambda m: datetime(2025, 1, 1, tzinfo=VN) + timedelta(minutes=m)
)
durations = st.integers(min_value=0, max_value=40 * 480)  # up to 40 working days
offsets = st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9)), VN])


def _is_session_end(moment: datetime) -> bool:
    local = CAL.to_local(moment)
    return CAL.is_working_day(local.date()) and (local.hour, local.minute) in {(11, 30), (17, 0)}


@FAST
@given(moments, st.integers(min_value=1, max_value=40 * 480))
def test_adding_time_lands_on_a_working_moment_or_a_session_end(start: datetime, m: int) -> None:
    end = CAL.add_working_time(start, m)
    assert CAL.is_working_moment(end) or _is_session_end(end)


@FAST
@given(moments, durations)
def test_add_then_count_gives_the_same_minutes(start: datetime, m: int) -> None:
    assert CAL.working_minutes_between(start, CAL.add_working_time(start, m)) == m


@FAST
@given(moments, durations, durations)
def test_durations_add_up(start: datetime, x: int, y: int) -> None:
    assert CAL.add_working_time(CAL.add_working_time(start, x), y) == CAL.add_working_time(start, x + y)


@FAST
@given(moments, durations, offsets)
def test_input_zone_does_not_matter(start: datetime, m: int, zone: timezone) -> None:
    assert CAL.add_working_time(start.astimezone(zone), m) == CAL.add_working_time(start, m)
    assert CAL.next_working_moment(start.astimezone(zone)) == CAL.next_working_moment(start)


@FAST
@given(moments, st.integers(min_value=1, max_value=20))
def test_due_never_before_receipt_and_monotonic(received: datetime, days: int) -> None:
    later = received + timedelta(minutes=37)
    first = appointment_for(received, LegalTime.days(days))
    assert first > received
    assert appointment_for(later, LegalTime.days(days)) >= first


@FAST
@given(
    moments,
    st.integers(min_value=1, max_value=10),
    st.integers(min_value=0, max_value=5 * 480),
    st.integers(min_value=0, max_value=10 * 24 * 60),
    st.sampled_from(["restart", "resume"]),
)
def test_pauses_never_shorten_the_remaining_time(
    received: datetime, days: int, run_minutes: int, pause_minutes: int, policy: str
) -> None:
    legal = LegalTime.days(days)
    requested = CAL.add_working_time(CAL.next_working_moment(received), run_minutes)
    completed = requested + timedelta(minutes=pause_minutes)
    pol = "restart" if policy == "restart" else "resume"
    at_pause = read_clock([Received(received)], legal_time=legal, now=requested, policy=pol)
    after = read_clock(
        [
            Received(received),
            SupplementRequested(requested, 1),
            SupplementCompleted(completed),
        ],
        legal_time=legal,
        now=completed,
        policy=pol,
    )
    assert after.minutes_left >= at_pause.minutes_left
    assert after.due_at >= at_pause.due_at


def test_process_time_zone_does_not_matter() -> None:
    start = datetime(2026, 2, 13, 16, 40, tzinfo=VN)
    expected = datetime(2026, 2, 27, 16, 40, tzinfo=VN)
    saved = os.environ.get("TZ")
    try:
        for zone in ("UTC", "America/New_York", "Asia/Tokyo", "Asia/Ho_Chi_Minh"):
            os.environ["TZ"] = zone
            time_module.tzset()
            assert appointment_for(start, LegalTime.days(5)) == expected
            assert appointment_for(start.astimezone(UTC), LegalTime.days(5)) == expected
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time_module.tzset()


def test_thirty_days_is_fast() -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=VN)
    CAL.add_working_time(start, 30 * 480)  # warm the holiday cache
    began = time_module.perf_counter()
    for _ in range(1000):
        CAL.add_working_time(start, 30 * 480)
    per_call = (time_module.perf_counter() - began) / 1000
    assert per_call < 0.001
