"""Progress of a long operation (replay, verify): bars on a terminal, plain lines otherwise.

A replay of a large log takes minutes; an operator needs to see how far it is, how fast it goes
and how long is left, not a spinner. On a terminal that is a rich progress bar per phase; in a
log file or a CI job (no terminal) it is one plain line every few seconds and at the end of each
phase, since bars would fill the log with control characters.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

PLAIN_EVERY_S = 2.0


class Reporter(Protocol):
    def phase(self, name: str, total: int, unit: str) -> None: ...
    def advance(self, name: str, n: int) -> None: ...
    def grow(self, name: str, n: int) -> None: ...
    def done(self, name: str) -> None: ...


class RateColumn(ProgressColumn):
    """Items per second, in the phase's unit ("12,400 events/s")."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        return Text(
            f"{task.speed:,.0f} {unit}/s" if task.speed else f"– {unit}/s", style="progress.data.speed"
        )


class Bars:
    """One rich bar per phase: done / total, percent, rate, elapsed and time left."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            RateColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Bars:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def phase(self, name: str, total: int, unit: str) -> None:
        self.tasks[name] = self.progress.add_task(name, total=total, unit=unit)

    def advance(self, name: str, n: int) -> None:
        self.progress.advance(self.tasks[name], n)

    def grow(self, name: str, n: int) -> None:
        task = self.tasks[name]
        current = self.progress.tasks[task].total or 0
        self.progress.update(task, total=current + n)

    def done(self, name: str) -> None:
        task = self.tasks[name]
        self.progress.update(task, completed=self.progress.tasks[task].total)


class _Phase:
    def __init__(self, total: int, unit: str, now: float) -> None:
        self.total, self.unit, self.done, self.started, self.last_line = total, unit, 0, now, now


class Lines:
    """Plain progress lines for logs: counts, percent, rate and time left, every few seconds."""

    def __init__(self, emit: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.emit, self.clock = emit, clock
        self.phases: dict[str, _Phase] = {}

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def phase(self, name: str, total: int, unit: str) -> None:
        self.phases[name] = _Phase(total, unit, self.clock())

    def grow(self, name: str, n: int) -> None:
        self.phases[name].total += n

    def advance(self, name: str, n: int) -> None:
        phase = self.phases[name]
        phase.done += n
        if self.clock() - phase.last_line >= PLAIN_EVERY_S:
            self._line(name)

    def done(self, name: str) -> None:
        phase = self.phases[name]
        phase.done = max(phase.done, phase.total)
        self._line(name)

    def _line(self, name: str) -> None:
        phase = self.phases[name]
        now = self.clock()
        phase.last_line = now
        elapsed = max(now - phase.started, 1e-9)
        rate = phase.done / elapsed
        percent = 100 * phase.done / phase.total if phase.total else 100.0
        left = (phase.total - phase.done) / rate if rate and phase.done < phase.total else 0.0
        self.emit(
            f"{name}: {phase.done:,}/{phase.total:,} {phase.unit} ({percent:.0f} %),"
            f" {rate:,.0f} {phase.unit}/s, {elapsed:.1f} s elapsed, ~{left:.0f} s left"
        )


def reporter_for(console: Console) -> Bars | Lines:
    """Bars on a terminal, plain lines when the output goes to a file or a pipe."""
    if console.is_terminal:
        return Bars(console)
    return Lines(lambda line: console.print(line, markup=False, highlight=False, soft_wrap=True))
