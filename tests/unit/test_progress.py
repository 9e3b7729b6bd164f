"""Replay progress: bars on a terminal; plain lines with counts, rate and time left otherwise."""

from __future__ import annotations

import io

from rich.console import Console

from services.ops.progress import PLAIN_EVERY_S, Bars, Lines, reporter_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_say_how_far_how_fast_and_how_long_is_left() -> None:
    clock, lines = Clock(), []
    with Lines(lines.append, clock) as progress:
        progress.phase("reading", 1000, "events")
        clock.now += 1.0
        progress.advance("reading", 100)
        assert lines == [], "no line before a few seconds have passed"
        clock.now += PLAIN_EVERY_S
        progress.advance("reading", 150)
        progress.grow("reading", 250)
        clock.now += 1.0
        progress.done("reading")
    assert lines[0] == "reading: 250/1,000 events (25 %), 83 events/s, 3.0 s elapsed, ~9 s left"
    assert lines[-1].startswith("reading: 1,250/1,250 events (100 %)") and lines[-1].endswith("~0 s left")


def test_bars_on_a_terminal_lines_in_a_log() -> None:
    assert isinstance(reporter_for(Console(file=io.StringIO(), force_terminal=True)), Bars)
    out = io.StringIO()
    plain = reporter_for(Console(file=out, force_terminal=False, width=40))
    assert isinstance(plain, Lines)
    with plain as progress:
        progress.phase("folding dossiers", 3, "dossiers")
        progress.advance("folding dossiers", 3)
        progress.done("folding dossiers")
    text = out.getvalue()
    assert "folding dossiers: 3/3 dossiers (100 %)" in text.replace("\n", " ") and "\x1b" not in text
