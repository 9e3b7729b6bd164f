"""Xếp hạng: departments ranked by their Decision 766 points in a period.

Units are compared on the share of the points available to them (an indicator without any
dossier is not applicable), then on the on-time rate, then by code so ties stay stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.index766 import Indicator, Tally, indicators_of, tally, total_points


@dataclass(frozen=True)
class RankedUnit:
    rank: int
    unit: str
    points: float
    available: float
    percent: float
    on_time_rate: float | None
    dossiers: int
    indicators: list[Indicator]


def rank(
    facts_by_unit: Mapping[str, Iterable[DossierFacts]], start: datetime, end: datetime
) -> list[RankedUnit]:
    return rank_tallies({unit: tally(facts, start, end) for unit, facts in facts_by_unit.items()})


def rank_tallies(tallies: Mapping[str, Tally]) -> list[RankedUnit]:
    rows = []
    for unit, counts in tallies.items():
        items = indicators_of(counts)
        points, available = total_points(items)
        progress = items[0]
        percent = round(100 * points / available, 2) if available else 0.0
        rows.append((unit, points, available, percent, progress.rate, progress.denominator, items))
    rows.sort(key=lambda r: (-r[3], -(r[4] or 0.0), r[0]))
    return [
        RankedUnit(i + 1, unit, points, available, percent, rate, n, items)
        for i, (unit, points, available, percent, rate, n, items) in enumerate(rows)
    ]
