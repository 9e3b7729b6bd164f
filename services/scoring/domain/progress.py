"""The progress report (tình hình, kết quả giải quyết hồ sơ) a province sends upward, per unit.

The form's columns for a period [begin, end) judged at a moment m (the period's end, or now
for a period still running):

* received (nhận giải quyết) = carried over (kỳ trước chuyển qua: received before the period,
  unfinished at its start) + newly received in the period, by channel: online, at the desk,
  by post;
* of those, by their state at m: resolved (đã giải quyết) early / on time / late; stopped
  (withdrawn, stopped, closed without supplement); in progress (đang giải quyết) on time /
  overdue; paused (tạm dừng, awaiting a supplement from the citizen).

Every dossier counted falls in exactly one "received" cell and exactly one "state" cell, so the
rows balance (received = resolved + stopped + in progress + paused) and each number's dossiers
are found by the same function (``cells_of``) that counted them: the drill-down cannot disagree
with the figure. A paused dossier already past its due date is overdue, not paused: lateness is
what the leader must see first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.periods import bounds, next_period_start

RECEIVED_CELLS: tuple[str, ...] = ("carried_over", "received_online", "received_desk", "received_post")
STATE_CELLS: tuple[str, ...] = (
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "stopped",
    "in_progress_on_time",
    "in_progress_overdue",
    "paused",
)
CELLS: tuple[str, ...] = RECEIVED_CELLS + STATE_CELLS
# Sums shown beside the cells (the form's "tổng số" columns); drill-down accepts them too.
TOTALS: dict[str, tuple[str, ...]] = {
    "received_total": RECEIVED_CELLS,
    "received_new": ("received_online", "received_desk", "received_post"),
    "resolved_total": ("resolved_early", "resolved_on_time", "resolved_late"),
    "in_progress_total": ("in_progress_on_time", "in_progress_overdue", "paused"),
}
COUNTERS: tuple[str, ...] = CELLS + tuple(TOTALS)

_CHANNEL_CELL = {
    "online_partial": "received_online",
    "online_full": "received_online",
    "post": "received_post",
    "desk": "received_desk",
}


def cells_of(f: DossierFacts, begin: datetime, end: datetime, moment: datetime) -> tuple[str, str] | None:
    """(received cell, state cell) of a dossier read at ``moment``, or None if the period's
    report does not count it (not received, received after the period, finished before it)."""
    cut = min(end, moment)
    if f.outcome != "received" or f.received_at is None or f.received_at >= cut:
        return None
    finished = f.finished_at is not None and f.finished_at < cut
    if f.finished_at is not None and f.finished_at < begin:
        return None
    received = "carried_over" if f.received_at < begin else _CHANNEL_CELL.get(f.channel_kind or "desk")
    if received is None:  # a channel this report does not know: counted with the desk
        received = "received_desk"
    if finished:
        if f.finish_kind != "decided":
            return received, "stopped"
        return received, f"resolved_{f.timeliness or 'on_time'}"
    if f.late:
        return received, "in_progress_overdue"
    return received, "paused" if f.paused else "in_progress_on_time"


def in_cell(f: DossierFacts, counter: str, begin: datetime, end: datetime, moment: datetime) -> bool:
    """Whether ``f`` is one of the dossiers behind ``counter`` (a cell or a total)."""
    cells = cells_of(f, begin, end, moment)
    if cells is None:
        return False
    return bool(set(cells) & set(TOTALS.get(counter, (counter,))))


def with_totals(counts: Counter[str]) -> dict[str, int]:
    row = {cell: counts.get(cell, 0) for cell in CELLS}
    for total, parts in TOTALS.items():
        row[total] = sum(row[p] for p in parts)
    return row


def tabulate(
    facts: Iterable[tuple[str, DossierFacts]], begin: datetime, end: datetime, moment: datetime
) -> dict[str, dict[str, int]]:
    """The form's row per unit, from (unit, facts) pairs read at ``moment``."""
    per_unit: dict[str, Counter[str]] = {}
    for unit, f in facts:
        cells = cells_of(f, begin, end, moment)
        if cells is not None:
            per_unit.setdefault(unit, Counter()).update(cells)
    return {unit: with_totals(counts) for unit, counts in sorted(per_unit.items())}


def months_of_year(year: int) -> list[date]:
    return [date(year, m, 1) for m in range(1, 13)]


def monthly(facts: Iterable[DossierFacts], year: int, moment: datetime) -> list[dict[str, object]]:
    """Dossiers decided in each month of ``year`` up to ``moment``: early, on time, late.

    A month not yet begun is left out (nothing can be decided in it); the running month counts
    what was decided so far."""
    decided = [
        (f.finished_at, f.timeliness or "on_time")
        for f in facts
        if f.finish_kind == "decided" and f.finished_at is not None
    ]
    rows: list[dict[str, object]] = []
    for start in months_of_year(year):
        begin, end = bounds("month", start)
        if begin > moment:
            break
        counts = Counter(kind for at, kind in decided if begin <= at < min(end, moment))
        rows.append(
            {
                "month": start.isoformat(),
                "next": next_period_start("month", start).isoformat(),
                "early": counts["early"],
                "on_time": counts["on_time"],
                "late": counts["late"],
            }
        )
    return rows
