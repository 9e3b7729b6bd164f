"""The 766 tallies of a period straight from ``scoring.dossier_facts``, without refolding events.

A facts row is the dossier read at its last event. Read at a later moment ``m`` (the period's
end, or now) only one thing can differ: an unfinished, running (not paused) dossier turns late
once ``m`` passes its due date (``late or m > due_at``; lateness is sticky, a paused clock
cannot run late, a finished dossier keeps its verdict). That is computed in SQL below.

For a closed period some dossiers also had events *after* ``m``; their row then says more than
was known at ``m``. Most are still decidable from the row: a dossier that is on time and within
the supplement limit now was so at every earlier moment, a dossier finished before ``m`` keeps
its verdict, and its return channel counts only if ``returned_at <= m``. What is left (late now
or over the supplement limit now, with history after ``m``: was it already so at ``m``?) is
refolded from its events up to ``m``, as the audit path does. For a running period there is no
history after ``now``, so nothing is refolded.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from uuid import UUID

import asyncpg

from services.scoring.as_of import facts_as_of
from services.scoring.domain.dossier_facts import DISLIKE_AT_MOST, DossierFacts
from services.scoring.domain.index766 import Tally, tally
from shared.clock import DEFAULT_CALENDAR
from shared.clock.rulesets import RULESETS

UNIT_COLUMN = {"department": "department_code", "receiving_point": "receiving_point"}


def _allowed_sql() -> str:
    """Supplement requests allowed on time, by the rule set in force on the local receipt date."""
    local = f"(received_at AT TIME ZONE '{DEFAULT_CALENDAR.timezone}')::date"
    ordered = sorted(RULESETS, key=lambda r: r.effective_from, reverse=True)
    arms = " ".join(
        f"WHEN {local} >= DATE '{r.effective_from.isoformat()}' THEN {r.max_supplement_requests_on_time}"
        for r in ordered
    )
    return f"CASE {arms} ELSE {ordered[-1].max_supplement_requests_on_time} END"


# $1 period start, $2 judgement moment, $3 unit (or NULL), $4 procedure (or NULL).
_ROWS = """
WITH f AS (
    SELECT {unit} AS unit, dossier_id, received_at, finished_at, timeliness, late, paused, due_at,
           clock_note, supplement_requests > {allowed} AS over_limit, last_event_at > $2 AS after,
           received_at >= $1 AS fresh, fee_vnd + obligations_vnd > 0 AS fee, paid_online, documents_scanned,
           electronic_result, channel_kind LIKE 'online%' AS online,
           CASE WHEN returned_at <= $2 THEN returned_via END AS via,
           coalesce(result_issued_at <= $2, false) AS issued,
           outcome = 'received' AND received_at < $2
             AND (finished_at IS NULL OR finished_at > $2 OR finished_at >= $1) AS member,
           finished_at IS NULL OR finished_at > $2 AS open,
           coalesce(rating <= {dislike} AND rated_at <= $2, false)
             OR coalesce(complained_at <= $2, false) AS dissatisfied,
           coalesce(rated_at <= $2, false) OR coalesce(complained_at <= $2, false) AS feedback
    FROM scoring.dossier_facts
    WHERE {unit} IS NOT NULL AND coalesce(registered_at, last_event_at) <= $2
      AND ($3::text IS NULL OR {unit} = $3) AND ($4::text IS NULL OR procedure_code = $4)
), j AS (
    SELECT *, member AND after AND open AND (late OR over_limit OR clock_note IS NOT NULL) AS refold,
           NOT over_limit AND CASE
             WHEN finished_at < $2 THEN coalesce(timeliness IN ('early', 'on_time'), false)
             ELSE NOT (late OR (finished_at IS NULL AND NOT after AND NOT paused
                                AND clock_note IS NULL AND coalesce($2 > due_at, false)))
           END AS on_time
    FROM f
), k AS (SELECT *, member AND NOT refold AS counted FROM j)
SELECT unit,
       count(*) FILTER (WHERE counted)::int AS members,
       count(*) FILTER (WHERE counted AND on_time)::int AS on_time,
       count(*) FILTER (WHERE counted AND fresh)::int AS received,
       count(*) FILTER (WHERE counted AND fresh AND online
                          AND NOT (electronic_result AND via IS NOT NULL AND via <> 'online'))::int
         AS online,
       count(*) FILTER (WHERE counted AND fresh AND fee)::int AS fee_bearing,
       count(*) FILTER (WHERE counted AND fresh AND fee AND paid_online)::int AS paid_online,
       count(*) FILTER (WHERE counted AND fresh AND documents_scanned
                          AND (NOT electronic_result OR via IS NULL OR issued))::int AS digital,
       count(*) FILTER (WHERE counted AND on_time AND NOT dissatisfied)::int AS satisfied,
       count(*) FILTER (WHERE counted AND feedback)::int AS feedback,
       array_agg(dossier_id) FILTER (WHERE refold) AS refold
FROM k GROUP BY unit
"""


def tallies_sql(dimension: str) -> str:
    return _ROWS.format(unit=UNIT_COLUMN[dimension], allowed=_allowed_sql(), dislike=DISLIKE_AT_MOST)


async def live_tallies(
    conn: asyncpg.Connection,
    dimension: str,
    start: datetime,
    moment: datetime,
    unit: str | None = None,
    procedure: str | None = None,
) -> dict[str, Tally]:
    """Per unit, the tallies of the period starting at ``start`` judged at ``moment``."""
    rows = await conn.fetch(tallies_sql(dimension), start, moment, unit, procedure)
    out: dict[str, Tally] = {}
    refold: list[UUID] = []
    for r in rows:
        out[r["unit"]] = Tally(*(r[k] for k in Tally.__dataclass_fields__))
        refold.extend(r["refold"] or ())
    if refold:
        by_unit: dict[str | None, list[DossierFacts]] = defaultdict(list)
        for f in await facts_as_of(conn, moment, ids=refold):
            by_unit[f.department_code if dimension == "department" else f.receiving_point].append(f)
        for name, facts in by_unit.items():
            if name is not None:
                out[name] = out.get(name, Tally()) + tally(facts, start, moment)
    return dict(sorted(out.items()))
