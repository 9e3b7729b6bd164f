"""The clock's explanation, worded only when someone reads it.

A clock reading carries its explanation (shown to officers and citizens), but most readings are
made for their figures alone: the relay stamps every processing step, scoring reads the clock of
each dossier it folds, replays and audits read millions. Wording each line as the facts were
applied (dates formatted, every day up to the appointment looked up for holidays) was about a
third of a reading. So a run keeps each line as a wording function and the values it will word,
taken when the fact was applied, and the words are made on first reading: the same lines an
eager run would have written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from shared.clock.calendar import WorkingCalendar
from shared.clock.explain import calendar_lines

Words = Callable[..., str | Sequence[str]]
Part = tuple[Words | None, tuple[Any, ...]]


class Explanation:
    __slots__ = ("_calendar", "_lines", "_parts")

    def __init__(self, calendar: WorkingCalendar, parts: list[Part] | None = None) -> None:
        self._calendar = calendar
        # (wording, its values); wording None: the days off and make-up days between two moments
        self._parts = parts if parts is not None else []
        self._lines: list[str] | None = None

    def say(self, words: Words, *values: Any) -> None:
        """A line (or lines) that ``words(*values)`` gives when the explanation is read."""
        self._parts.append((words, values))
        self._lines = None

    def days_between(self, start: datetime, end: datetime) -> None:
        """The holidays skipped and make-up days counted from ``start`` to ``end``, each day once
        in the whole explanation (a replay never names the same Tết twice)."""
        self._parts.append((None, (start, end)))
        self._lines = None

    def copy(self) -> Explanation:
        """A snapshot: what is said to the copy later does not change this one, nor the reverse."""
        return Explanation(self._calendar, list(self._parts))

    def lines(self) -> list[str]:
        if self._lines is None:
            seen: set[date] = set()
            lines: list[str] = []
            for words, values in self._parts:
                if words is None:
                    start, end = values
                    lines.extend(calendar_lines(self._calendar, start, end, seen))
                    continue
                said = words(*values)
                if isinstance(said, str):
                    lines.append(said)
                else:
                    lines.extend(said)
            self._lines = lines
        return list(self._lines)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Explanation):
            return NotImplemented
        return self.lines() == other.lines()

    __hash__ = None  # type: ignore[assignment]  # compared by its words, which may still grow

    def __repr__(self) -> str:
        return f"Explanation({self.lines()!r})"
