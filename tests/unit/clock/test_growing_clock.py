"""A clock read as its facts grow gives exactly read_clock's readings (property test)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.clock import (
    ClockFact,
    ClockReading,
    Finished,
    LegalTime,
    Reappointed,
    Received,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
    read_clock,
)
from shared.clock.legal_clock import GrowingClock
from tests.unit.clock.helpers import VN

START = datetime(2026, 2, 2, 8, 0, tzinfo=VN)
LEGAL = LegalTime.days(5)
gaps = st.integers(min_value=0, max_value=10 * 24 * 60).map(lambda m: timedelta(minutes=m))
kinds = st.sampled_from(["request", "complete", "transfer", "reappoint", "finish"])


def _facts(steps: list[tuple[str, timedelta]]) -> list[ClockFact]:
    at = START
    facts: list[ClockFact] = [Received(at=START, agency="STP")]
    for n, (kind, gap) in enumerate(steps):
        at += gap
        options: dict[str, ClockFact] = {
            "request": SupplementRequested(at=at, number=n + 1),
            "complete": SupplementCompleted(at=at),
            "transfer": Transferred(at=at, agency=f"A{n}", share_days=None),
            "reappoint": Reappointed(at=at, new_due=at + timedelta(days=7), reason="late"),
            "finish": Finished(at=at),
        }
        facts.append(options[kind])
    return facts


def _read(facts: list[ClockFact], now: datetime, clock: GrowingClock | None = None) -> object:
    try:
        if clock is None:
            return read_clock(facts, legal_time=LEGAL, now=now, policy="resume")
        return clock.read(facts, now)
    except ValueError as exc:
        return str(exc)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(kinds, gaps), max_size=6), gaps)
def test_reading_after_each_fact_equals_read_clock(
    steps: list[tuple[str, timedelta]], later: timedelta
) -> None:
    facts = _facts(steps)
    clock = GrowingClock(legal_time=LEGAL, policy="resume")
    for n in range(1, len(facts) + 1):
        now = facts[n - 1].at + later
        assert _read(facts[:n], now, clock) == _read(facts[:n], now)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(kinds, gaps), max_size=6), gaps)
def test_a_reading_keeps_its_words_when_the_run_grows(
    steps: list[tuple[str, timedelta]], later: timedelta
) -> None:
    """Readings are worded only when read: one read after the run took more facts still
    explains its own facts, as a clock read from scratch on those facts does."""
    facts = _facts(steps)
    clock = GrowingClock(legal_time=LEGAL, policy="resume")
    taken = [(n, _read(facts[:n], facts[n - 1].at + later, clock)) for n in range(1, len(facts) + 1)]
    for n, reading in taken:
        fresh = _read(facts[:n], facts[n - 1].at + later)
        if isinstance(reading, str) or isinstance(fresh, str):
            assert reading == fresh
            continue
        assert isinstance(reading, ClockReading) and isinstance(fresh, ClockReading)
        assert reading.explanation == fresh.explanation
        assert reading.explanation[0].startswith("received ")


def test_facts_that_do_not_extend_the_applied_ones_are_replayed() -> None:
    facts = _facts([("request", timedelta(days=1)), ("complete", timedelta(days=2))])
    clock = GrowingClock(legal_time=LEGAL)
    clock.read(facts, facts[-1].at)
    other = [facts[0], Transferred(at=facts[1].at, agency="X", share_days=None)]
    assert clock.read(other, other[-1].at) == read_clock(other, legal_time=LEGAL, now=other[-1].at)
    with pytest.raises(ValueError, match="Received"):
        clock.read([Finished(at=START)], START)
