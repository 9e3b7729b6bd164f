"""The live 766 index from the facts table equals the audit path's refold, at any moment.

A varied mix of dossiers (paused, late, reappointed, crossing their due date, returned on
paper after the period...) goes through the consumer's write path; then, at moments spread
over the history (period ends with history after them, and "now"), the tallies from
``scoring.dossier_facts`` must equal those from folding every event up to that moment.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from bench.dossier_mix import dossier
from services.scoring.as_of import facts_as_of
from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.index766 import Tally, tally
from services.scoring.live_index import live_tallies
from services.scoring.store.schema import DDL
from services.scoring.store.writer import apply_events

VN = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 1, 5, 8, 0, tzinfo=VN)
HORIZON = START + timedelta(days=75, hours=3, minutes=17)  # "now" for this data set


async def _refolded(
    conn: asyncpg.Connection, dimension: str, start: datetime, moment: datetime, procedure: str | None
) -> dict[str, Tally]:
    by_unit: dict[str, list[DossierFacts]] = defaultdict(list)
    for f in await facts_as_of(conn, moment):
        unit = f.department_code if dimension == "department" else f.receiving_point
        if unit and procedure in (None, f.procedure_code):
            by_unit[unit].append(f)
    return {unit: tally(facts, start, moment) for unit, facts in sorted(by_unit.items())}


async def test_live_tallies_equal_the_refold_at_every_moment(database_url: str) -> None:
    rnd = random.Random(766)
    histories = [dossier(rnd, i, START, 70, HORIZON) for i in range(1200)]
    events = [e for h in histories for e in h]
    rnd.shuffle(events)  # arrival order is not business order
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(DDL)
        for i in range(0, len(events), 250):
            async with conn.transaction():
                await apply_events(conn, events[i : i + 250])
        kinds = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE paused) AS paused, count(*) FILTER (WHERE late) AS late,"
            " count(*) FILTER (WHERE finished_at IS NULL AND NOT paused AND NOT late) AS running"
            " FROM scoring.dossier_facts"
        )
        assert kinds["paused"] > 20 and kinds["late"] > 100 and kinds["running"] > 20
        moments = [
            (START - timedelta(days=5), START + timedelta(days=26, hours=16)),  # a closed month
            (START + timedelta(days=26), START + timedelta(days=54, hours=16)),  # the next one
            (START + timedelta(days=20), START + timedelta(days=21, hours=16)),  # a day
            (START + timedelta(days=40), START + timedelta(days=40, hours=10, minutes=3)),
            (START + timedelta(days=60), HORIZON),  # running period: judged now
            (START + timedelta(days=60), HORIZON + timedelta(days=4)),  # later, no new events
        ]
        refolded_some = 0
        for start, moment in moments:
            for dimension in ("department", "receiving_point"):
                for procedure in (None, "LLTP"):
                    live = await live_tallies(conn, dimension, start, moment, None, procedure)
                    assert live == await _refolded(conn, dimension, start, moment, procedure), (
                        start,
                        moment,
                        dimension,
                        procedure,
                    )
                    assert sum(t.members for t in live.values()) > 0
            refolded_some += moment < HORIZON
        assert refolded_some
        one = await live_tallies(conn, "department", moments[0][0], moments[0][1], "STP")
        assert list(one) == ["STP"]
    finally:
        await conn.close()
