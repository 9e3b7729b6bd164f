"""The read side's questions: figures, the 766 index, ranking and drill-down, live or as of a date.

Counters come from ``scoring.figures`` (live) or are summed from facts folded as of a date.
Anything that depends on a moment (in progress on time / overdue, the 766 judgement of
unfinished dossiers) is judged at that moment: the period's end, or now for a period still
running, or the requested ``as_of``. The live index and ranking read the facts table
(``live_index``); ``as_of`` / ``known_at`` (audit reproductions) refold the events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from services.scoring.as_of import facts_as_of
from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.figures import COUNTERS, contribution, total
from services.scoring.domain.index766 import Indicator, Tally, indicators_of, tally, total_points
from services.scoring.domain.periods import PeriodKind, bounds
from services.scoring.domain.progress import in_cell, monthly, tabulate
from services.scoring.domain.ranking import Ranking, rank_tallies
from services.scoring.live_index import live_tallies

MINUTES_PER_DAY = 480
MOMENT_COUNTERS = ("in_progress_on_time", "in_progress_overdue")


@dataclass(frozen=True)
class Query:
    dimension: str
    kind: PeriodKind
    start: date
    unit: str | None = None
    procedure: str | None = None
    as_of: datetime | None = None
    known_at: datetime | None = None

    def window(self) -> tuple[datetime, datetime, datetime]:
        """(period start, period end, judgement moment)."""
        begin, end = bounds(self.kind, self.start)
        now = self.as_of or datetime.now(UTC)
        return begin, end, min(end, now)


def unit_of(f: DossierFacts, dimension: str) -> str | None:
    return f.department_code if dimension == "department" else f.receiving_point


async def _facts_at(conn: asyncpg.Connection, q: Query, moment: datetime) -> list[DossierFacts]:
    facts = await facts_as_of(conn, moment, known_at=q.known_at, dimension=q.dimension, unit=q.unit)
    return [f for f in facts if unit_of(f, q.dimension) and (q.procedure in (None, f.procedure_code))]


def in_progress(f: DossierFacts, begin: datetime, end: datetime, moment: datetime) -> str | None:
    """'in_progress_on_time' / '…_overdue' for a dossier received in the period, unfinished at moment."""
    if f.outcome != "received" or f.registered_at is None or not begin <= f.registered_at < end:
        return None
    if f.finished_at is not None and f.finished_at <= moment:
        return None
    return "in_progress_overdue" if f.late else "in_progress_on_time"


async def counters(conn: asyncpg.Connection, q: Query) -> dict[str, Counter[str]]:
    """Counters per unit for the period (summed over procedures unless one is asked for)."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    if q.as_of is None:
        rows = await conn.fetch(
            "SELECT * FROM scoring.figures WHERE dimension = $1 AND period_kind = $2 AND period_start = $3"
            " AND ($4::text IS NULL OR unit = $4) AND ($5::text IS NULL OR procedure_code = $5)",
            q.dimension,
            q.kind,
            q.start,
            q.unit,
            q.procedure,
        )
        for r in rows:
            out[r["unit"]].update({c: r[c] for c in COUNTERS})
        return out
    for (dimension, unit, procedure, kind, start), part in total(await _facts_at(conn, q, q.as_of)).items():
        if (
            (dimension, kind, start) == (q.dimension, q.kind, q.start)
            and q.unit in (None, unit)
            and (q.procedure in (None, procedure))
        ):
            out[unit].update(part)
    return out


async def figures(conn: asyncpg.Connection, q: Query) -> list[dict[str, object]]:
    begin, end, moment = q.window()
    per_unit = await counters(conn, q)
    for f in await _facts_at(conn, q, moment):
        state = in_progress(f, begin, end, moment)
        if state:
            per_unit[unit_of(f, q.dimension) or "?"][state] += 1
    result = []
    for unit, c in sorted(per_unit.items()):
        row: dict[str, object] = {"unit": unit, **{k: c.get(k, 0) for k in COUNTERS + MOMENT_COUNTERS}}
        received = c.get("received", 0)
        row["online_share"] = _share(c.get("online_partial", 0) + c.get("online_full", 0), received)
        row["postal_share"] = _share(c.get("post", 0), received)
        row["postal_return_share"] = _share(c.get("postal_return", 0), received)
        resolved = c.get("resolved", 0)
        row["average_working_days"] = (
            round(c.get("working_minutes", 0) / resolved / MINUTES_PER_DAY, 2) if resolved else None
        )
        result.append(row)
    return result


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def live(q: Query) -> bool:
    """No audit cut-off: answered from the live facts (``live_index``), never by refolding."""
    return q.as_of is None and q.known_at is None


async def tallies(conn: asyncpg.Connection, q: Query) -> dict[str, Tally]:
    begin, _, moment = q.window()
    if live(q):
        return await live_tallies(conn, q.dimension, begin, moment, q.unit, q.procedure)
    by_unit: dict[str, list[DossierFacts]] = defaultdict(list)
    for f in await _facts_at(conn, q, moment):
        by_unit[unit_of(f, q.dimension) or "?"].append(f)
    return {unit: tally(facts, begin, moment) for unit, facts in sorted(by_unit.items())}


async def index(conn: asyncpg.Connection, q: Query) -> dict[str, list[Indicator]]:
    return {unit: indicators_of(t) for unit, t in (await tallies(conn, q)).items()}


async def ranking(conn: asyncpg.Connection, q: Query) -> Ranking:
    return rank_tallies(await tallies(conn, q))


async def drill_down(conn: asyncpg.Connection, q: Query, counter: str) -> list[DossierFacts]:
    """The dossiers behind one figure (counter) of one unit, in the same scope as the figure."""
    begin, end, moment = q.window()
    if counter in MOMENT_COUNTERS:
        return [f for f in await _facts_at(conn, q, moment) if in_progress(f, begin, end, moment) == counter]
    facts = await _facts_at(conn, q, q.as_of or datetime.now(UTC))
    found = []
    for f in facts:
        for (dimension, unit, _, kind, start), part in contribution(f).items():
            if (
                (dimension, kind, start) == (q.dimension, q.kind, q.start)
                and q.unit in (None, unit)
                and (part.get(counter, 0) > 0)
            ):
                found.append(f)
                break
    return sorted(found, key=lambda f: f.dossier_code)


async def progress(conn: asyncpg.Connection, q: Query) -> dict[str, dict[str, int]]:
    """The progress report's row per unit (``domain.progress``), dossiers read at the judgement
    moment."""
    begin, end, moment = q.window()
    facts = await _facts_at(conn, q, moment)
    return tabulate(((unit_of(f, q.dimension) or "?", f) for f in facts), begin, end, moment)


async def progress_dossiers(conn: asyncpg.Connection, q: Query, counter: str) -> list[DossierFacts]:
    """The dossiers behind one number of the progress report, found as they were counted."""
    begin, end, moment = q.window()
    facts = await _facts_at(conn, q, moment)
    return sorted((f for f in facts if in_cell(f, counter, begin, end, moment)), key=lambda f: f.dossier_code)


async def months(conn: asyncpg.Connection, q: Query) -> list[dict[str, object]]:
    """Decided early / on time / late in each month of the year of ``q.start``, up to now."""
    _, end = bounds("year", q.start)
    moment = min(end, q.as_of or datetime.now(UTC))
    return monthly(await _facts_at(conn, q, moment), q.start.year, moment)


__all__ = ["Query", "counters", "drill_down", "figures", "index", "ranking", "total_points"]
