"""The relay's marks between checkpoints stay bounded while consumers lag far behind."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

from shared.eventlog.relay import MAX_MARKS, Mark, OutboxRelay, thin_marks


def _marks(n: int) -> list[Mark]:
    return [
        Mark(position=i * 10, published=i * 7, stream_seq=i * 7, types={"t": i * 7}) for i in range(1, n + 1)
    ]


def test_marks_are_thinned_to_states_the_relay_was_in_keeping_the_newest() -> None:
    made = _marks(MAX_MARKS * 5 + 3)
    relay = SimpleNamespace(_marks=deque())
    for mark in made:
        OutboxRelay._mark(relay, mark)  # type: ignore[arg-type]
        assert len(relay._marks) <= MAX_MARKS
    kept = list(relay._marks)
    assert kept[-1] is made[-1], "the newest mark is always kept"
    assert len(kept) >= MAX_MARKS // 2
    # every kept mark is one that was made, in the order it was made
    positions = [m.position for m in kept]
    assert positions == sorted(positions) and set(map(id, kept)) <= set(map(id, made))
    # the recent past keeps fine steps: the checkpoint moves to within two batches of a floor
    floor = made[-MAX_MARKS // 3].stream_seq
    reachable = max(m.stream_seq for m in kept if m.stream_seq <= floor)
    assert floor - reachable <= 7 * 2


def test_thinning_drops_every_other_mark() -> None:
    marks = deque(_marks(6))
    thin_marks(marks)
    assert [m.position for m in marks] == [20, 40, 60]
