"""Figures as they stood on a past date (business time), from the events scoring keeps.

Two cut-offs, both optional: ``at`` keeps the events that *happened* by then (business time)
and reads every clock at that moment; ``known_at`` also drops the events *recorded* after it.
``at`` alone gives the corrected view (back-dated entries made later included); adding
``known_at`` reproduces a report exactly as it was published, before any later correction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from services.scoring.domain.catalogue import CATALOGUE_TYPES_SQL
from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.fold import fold
from shared.contracts import AnyEvent, parse_event

_UNIT_COLUMN = {"department": "department_code", "receiving_point": "receiving_point"}


async def facts_as_of(
    conn: asyncpg.Connection,
    at: datetime,
    *,
    known_at: datetime | None = None,
    dimension: str | None = None,
    unit: str | None = None,
    ids: Sequence[UUID] | None = None,
) -> list[DossierFacts]:
    scope, args = "", [at, known_at]
    args_unit: list[object] = []
    if dimension is not None and unit is not None:
        # Units never change after the counter (only the case's holder moves), so the live
        # facts can narrow the dossiers to read.
        scope = (
            f" AND dossier_id IN (SELECT dossier_id FROM scoring.dossier_facts"
            f" WHERE {_UNIT_COLUMN[dimension]} = $3)"
        )
        args_unit.append(unit)
    elif ids is not None:
        scope = " AND dossier_id = ANY($3::uuid[])"
        args_unit.append(list(ids))
    rows = await conn.fetch(
        "SELECT dossier_id, payload FROM scoring.events WHERE occurred_at <= $1"
        f" AND event_type NOT IN ({CATALOGUE_TYPES_SQL})"
        " AND ($2::timestamptz IS NULL OR recorded_at <= $2)" + scope,
        *args,
        *args_unit,
    )
    grouped: dict[UUID, list[AnyEvent]] = defaultdict(list)
    for row in rows:
        grouped[row["dossier_id"]].append(parse_event(row["payload"]))
    return [fold(history, now=at) for history in grouped.values()]
