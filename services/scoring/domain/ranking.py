"""Xếp hạng: departments ranked by their Decision 766 points in a period.

Units are compared on the share of the points available to them (an indicator without any
dossier is not applicable), then on the on-time rate, then by code so ties stay stable.

Only units with something to judge are ranked. A unit with no applicable indicator ("0 of 0
points available") has no score at all; putting it last would read as "worst", so it is
listed apart as not ranked, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.index766 import Indicator, Tally, indicators_of, tally, total_points

NO_DOSSIERS = (
    "Không có hồ sơ nào để đánh giá trong kỳ / no dossier of this unit falls in the period,"
    " so no indicator applies"
)


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


@dataclass(frozen=True)
class UnrankedUnit:
    unit: str
    reason: str
    indicators: list[Indicator]


@dataclass(frozen=True)
class Ranking:
    ranked: list[RankedUnit] = field(default_factory=list)
    not_ranked: list[UnrankedUnit] = field(default_factory=list)


def rank(facts_by_unit: Mapping[str, Iterable[DossierFacts]], start: datetime, end: datetime) -> Ranking:
    return rank_tallies({unit: tally(facts, start, end) for unit, facts in facts_by_unit.items()})


def rank_tallies(tallies: Mapping[str, Tally]) -> Ranking:
    rows = []
    not_ranked = []
    for unit, counts in tallies.items():
        items = indicators_of(counts)
        points, available = total_points(items)
        if not available:
            not_ranked.append(UnrankedUnit(unit, NO_DOSSIERS, items))
            continue
        progress = items[0]
        percent = round(100 * points / available, 2)
        rows.append((unit, points, available, percent, progress.rate, progress.denominator, items))
    rows.sort(key=lambda r: (-r[3], -(r[4] or 0.0), r[0]))
    ranked = [
        RankedUnit(i + 1, unit, points, available, percent, rate, n, items)
        for i, (unit, points, available, percent, rate, n, items) in enumerate(rows)
    ]
    return Ranking(ranked, sorted(not_ranked, key=lambda u: u.unit))
