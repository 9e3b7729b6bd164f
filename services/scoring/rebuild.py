"""Rebuilding scoring's tables from the event log (``motcua replay scoring``).

Everything is computed in memory from the log, then the tables are dropped, created and
loaded with COPY in one transaction: readers see the old tables or the new ones, never half.
The live consumer's tracking is reset to exactly the replayed events, so it goes on with
whatever the log gains after the replay and never applies a replayed event twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.figures import FigureKey, total
from services.scoring.domain.fold import fold
from services.scoring.store.schema import DDL, DROP
from services.scoring.store.writer import copy_all, event_record
from shared.contracts import AnyEvent
from shared.eventlog import SCORING_ALL, ensure_eventlog_tables


@dataclass
class Projection:
    """Scoring's tables as the log says they should be."""

    events: dict[str, AnyEvent] = field(default_factory=dict)
    facts: dict[UUID, DossierFacts] = field(default_factory=dict)
    figures: dict[FigureKey, Counter[str]] = field(default_factory=dict)

    def add(self, events: Iterable[AnyEvent]) -> None:
        for event in events:
            self.events.setdefault(event.event_id, event)

    def compute(self) -> Projection:
        by_dossier: dict[UUID, list[AnyEvent]] = defaultdict(list)
        for event in self.events.values():
            by_dossier[event.dossier_id].append(event)
        self.facts = {dossier_id: fold(history) for dossier_id, history in by_dossier.items()}
        self.figures = total(self.facts.values())
        return self


async def replace_tables(conn: asyncpg.Connection, projection: Projection) -> None:
    await ensure_eventlog_tables(conn, "scoring")
    async with conn.transaction():
        # The live consumer claims events in processed_events first: locking it first means a
        # batch in flight waits for the replay instead of deadlocking with it.
        await conn.execute("LOCK TABLE scoring.processed_events IN SHARE ROW EXCLUSIVE MODE")
        await conn.execute(DROP)
        await conn.execute(DDL)
        await copy_all(
            conn,
            (event_record(e) for e in projection.events.values()),
            projection.facts.values(),
            projection.figures,
        )
        await conn.execute("DELETE FROM scoring.processed_events WHERE consumer = $1", SCORING_ALL.durable)
        await conn.copy_records_to_table(
            "processed_events",
            schema_name="scoring",
            columns=["consumer", "event_id"],
            records=[(SCORING_ALL.durable, event_id) for event_id in projection.events],
        )
