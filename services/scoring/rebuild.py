"""Rebuilding scoring's tables from the event log (``motcua replay scoring``).

The log is projected in parts (dossiers split by id, and a part too big for memory in buckets),
each loaded with COPY into staging tables; one transaction then drops scoring's tables and moves
the staged ones in: readers see the old tables or the new ones, never half. A dossier's
facts depend on its own events only, and figures are sums of per-dossier contributions.
The live consumer's tracking is reset to exactly the replayed events, so it goes on with
whatever the log gains after the replay and never applies a replayed event twice.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.figures import FigureKey, total
from services.scoring.domain.fold import fold
from services.scoring.store.schema import DDL, DROP, TABLES
from services.scoring.store.writer import apply_events, copy_all, event_record
from shared.contracts import AnyEvent, parse_event
from shared.contracts.catalogue import CatalogueEvent
from shared.eventlog import SCORING_ALL, ensure_eventlog_tables

FOLD_REPORT_EVERY = 1000
# Replay workers load their shares into a staging schema of the replay's own (two replays at
# once each keep theirs), each on its own connection; the tables move into ``scoring`` in the
# one transaction that drops the old ones (``swap_in``).
STAGING_PREFIX = "scoring_replay_"


def staging_name() -> str:
    return f"{STAGING_PREFIX}{uuid4().hex[:12]}"


def _staging_ddl(staging: str) -> str:
    return re.sub(r"(?<![\w.])scoring\.", f"{staging}.", DDL).replace(
        "SCHEMA IF NOT EXISTS scoring;", f"SCHEMA IF NOT EXISTS {staging};"
    )


@dataclass
class Projection:
    """Scoring's tables as the log says they should be.

    ``events`` holds scoring.events' rows by event id (plain tuples: cheap to send from a
    worker process, unlike the contracts they are made from).
    """

    events: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    facts: dict[UUID, DossierFacts] = field(default_factory=dict)
    figures: dict[FigureKey, Counter[str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        events: Iterable[AnyEvent],
        on_dossiers: Callable[[int], None] | None = None,
        on_folded: Callable[[int], None] | None = None,
        *,
        audit: bool = False,
    ) -> Projection:
        """The projection of these events (a whole log, or every event of some dossiers).

        ``on_dossiers`` hears how many dossiers there are to fold, ``on_folded`` every
        ``FOLD_REPORT_EVERY`` of them as they are done (progress for the replay command).
        """
        by_id: dict[str, AnyEvent] = {}
        for event in events:
            by_id.setdefault(event.event_id, event)
        by_dossier: dict[UUID, list[AnyEvent]] = defaultdict(list)
        for event in by_id.values():
            if not isinstance(event, CatalogueEvent):  # catalogue entries are not dossiers
                by_dossier[event.dossier_id].append(event)
        if on_dossiers is not None:
            on_dossiers(len(by_dossier))
        facts: dict[UUID, DossierFacts] = {}
        for dossier_id, history in by_dossier.items():
            facts[dossier_id] = fold(history, audit=audit)
            if on_folded is not None and len(facts) % FOLD_REPORT_EVERY == 0:
                on_folded(FOLD_REPORT_EVERY)
        if on_folded is not None and len(facts) % FOLD_REPORT_EVERY:
            on_folded(len(facts) % FOLD_REPORT_EVERY)
        records = {event_id: event_record(event) for event_id, event in by_id.items()}
        return cls(records, facts, total(facts.values()))

    def merge(self, other: Projection) -> None:
        """Adds another part's projection (of other dossiers) to this one."""
        for event_id, record in other.events.items():
            self.events.setdefault(event_id, record)
        self.facts.update(other.facts)
        for key, counts in other.figures.items():
            self.figures.setdefault(key, Counter()).update(counts)


@dataclass
class Share:
    """What a replay worker sends back once it has loaded its dossiers into the staging tables:
    counts, and its figure sums (figures add up across workers, so they are written once)."""

    events: int
    dossiers: int
    figures: dict[FigureKey, Counter[str]]
    # events the live consumer applied while the replay ran, applied again at the swap (swap_in)
    late: int = 0

    def merge(self, other: Share) -> None:
        self.events += other.events
        self.dossiers += other.dossiers
        for key, counts in other.figures.items():
            self.figures.setdefault(key, Counter()).update(counts)


async def prepare_staging(conn: asyncpg.Connection, staging: str) -> list[str]:
    """Empty staging tables, made before the workers start (their DDL must not race), without
    their keys and indexes: the statements that build them again are returned for
    ``index_staging``. PostgreSQL builds an index over loaded rows once for less than it
    costs to keep it up row by row during COPY (the workers' shares do not overlap, so no key
    can be broken by the load: a duplicate would fail the build, and the replay with it)."""
    await ensure_eventlog_tables(conn, "scoring")
    async with conn.transaction():
        await conn.execute(_staging_ddl(staging))
        # The live consumer's tracking too: reset to exactly the replayed events (see the module).
        await conn.execute(
            f"CREATE TABLE {staging}.processed_events (LIKE scoring.processed_events INCLUDING ALL)"
        )
        keys = await conn.fetch(
            "SELECT t.relname AS table_name, c.conname, pg_get_constraintdef(c.oid) AS definition"
            " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE n.nspname = $1 AND c.contype IN ('p', 'u') ORDER BY t.relname, c.conname",
            staging,
        )
        indexes = await conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = $1"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n"
            " ON n.oid = c.connamespace WHERE n.nspname = $1 AND c.conname = i.indexname)"
            " ORDER BY i.indexname",
            staging,
        )
        for key in keys:
            await conn.execute(f"ALTER TABLE {staging}.{key['table_name']} DROP CONSTRAINT {key['conname']}")
        for index in indexes:
            await conn.execute(f"DROP INDEX {staging}.{index['indexname']}")
    return [
        *(
            f"ALTER TABLE {staging}.{key['table_name']} ADD CONSTRAINT {key['conname']} {key['definition']}"
            for key in keys
        ),
        *(index["indexdef"] for index in indexes),
    ]


async def index_staging(conn: asyncpg.Connection, statements: list[str]) -> None:
    """The staged tables' keys and indexes, built once every share is loaded (outside the swap's
    transaction, so the live consumer waits for the swap only)."""
    for statement in statements:
        await conn.execute(statement)


async def drop_staging(conn: asyncpg.Connection, staging: str) -> None:
    """A replay that failed leaves nothing behind (after ``swap_in`` there is nothing left)."""
    await conn.execute(f"DROP SCHEMA IF EXISTS {staging} CASCADE")


async def write_share(conn: asyncpg.Connection, projection: Projection, staging: str) -> Share:
    """One worker's events and facts into the staging tables (its own transaction: nobody
    reads staging, and ``swap_in`` publishes all shares at once or none)."""
    async with conn.transaction():
        await copy_all(conn, projection.events.values(), projection.facts.values(), {}, schema=staging)
        await conn.copy_records_to_table(
            "processed_events",
            schema_name=staging,
            columns=["consumer", "event_id"],
            records=[(SCORING_ALL.durable, event_id) for event_id in projection.events],
        )
    return Share(len(projection.events), len(projection.facts), projection.figures)


# An event missing from the staged tables is one the log gained while the workers read it only
# if it was recorded since the replay began, less this margin (a transaction's commit may come a
# little after its events' time); an older one is not in the log at all, and goes with the old tables.
LATE_MARGIN = timedelta(minutes=5)


async def swap_in(conn: asyncpg.Connection, share: Share, staging: str, began: datetime | None = None) -> int:
    """The staged tables become scoring's, with the figures of every share, in one transaction.

    The live consumer goes on while a replay runs: what it applied meanwhile to the old tables
    of events the workers had not read (recorded since the replay ``began``) is applied again,
    with the consumer's own code, on top of the replayed tables in the same transaction. It has
    acknowledged those events, so nothing would bring them back. Returns how many there were.
    """
    await ensure_eventlog_tables(conn, "scoring")
    async with conn.transaction():
        # The live consumer claims events in processed_events first: locking it first means a
        # batch in flight waits for the replay instead of deadlocking with it.
        await conn.execute("LOCK TABLE scoring.processed_events IN ACCESS EXCLUSIVE MODE")
        # Another consumer's tracking in this schema (none today) is kept as it is.
        await conn.execute(
            f"INSERT INTO {staging}.processed_events"
            " SELECT * FROM scoring.processed_events WHERE consumer <> $1",
            SCORING_ALL.durable,
        )
        late = []
        if began is not None:
            rows = await conn.fetch(
                "SELECT e.payload FROM scoring.events e WHERE e.recorded_at >= $1 AND NOT EXISTS"
                f" (SELECT 1 FROM {staging}.events s WHERE s.event_id = e.event_id)",
                began - LATE_MARGIN,
            )
            late = [parse_event(row["payload"]) for row in rows]
        await conn.execute(DROP)
        await conn.execute("DROP TABLE scoring.processed_events")
        for table in (*TABLES, "processed_events"):
            await conn.execute(f"ALTER TABLE {staging}.{table} SET SCHEMA scoring")
        await conn.execute(f"DROP SCHEMA {staging}")
        await copy_all(conn, (), (), share.figures)
        if late:
            await apply_events(conn, late)
            await conn.executemany(
                "INSERT INTO scoring.processed_events (consumer, event_id) VALUES ($1, $2)",
                [(SCORING_ALL.durable, event.event_id) for event in late],
            )
    return len(late)
