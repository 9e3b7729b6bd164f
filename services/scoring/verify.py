"""Verifying the live projection against the log (``motcua verify``): zero differences expected.

The log is folded again in shares (dossiers split between worker processes, and a share too big
for memory in buckets, as a replay does). Each share's facts are compared with the live rows of
the same dossiers where they are folded (``audit_share``), so only differences, counts and figure
sums travel back; what needs the whole log (facts rows of dossiers the log does not have, the
figures, the count of events) is compared once the shares are merged (``compare_whole``).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.figures import COUNTERS, FigureKey
from services.scoring.rebuild import Projection
from shared.contracts import AnyEvent

# An event of the log that scoring has not applied at the cut is in flight (on its way through the
# relay and the bus) when it was recorded this long before the cut at most; an older one is lost
# or stuck, and the audit folds it, so that it shows as a difference.
IN_FLIGHT = timedelta(minutes=5)

# Differences listed per audit: beyond this they are counted, not kept (a broken projection of a
# million dossiers would otherwise send every one of them back from the workers).
KEEP = 1000


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    column: str
    expected: Any
    actual: Any


@dataclass(frozen=True)
class Cut:
    """The one instant an audit reads, on every connection of every worker: a snapshot exported
    by the parent's open transaction (``pg_export_snapshot``), and its time. The log goes on
    growing and the live consumer on applying while a large log is audited for minutes; read
    at one instant, the log and scoring's tables agree but for the events in flight then."""

    snapshot: str
    at: datetime


@contextlib.asynccontextmanager
async def reading_at(conn: asyncpg.Connection, cut: Cut | None) -> AsyncIterator[None]:
    """A read-only transaction that sees what ``cut`` saw (without a cut: the present)."""
    if cut is None:
        yield
        return
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(f"SET TRANSACTION SNAPSHOT '{cut.snapshot}'")
        yield


async def applied_only(
    conn: asyncpg.Connection, events: list[AnyEvent], cut: Cut | None
) -> tuple[list[AnyEvent], int]:
    """The events to fold for an audit at ``cut``: all but those scoring had not applied yet and
    that were recorded shortly before it (in flight: ``IN_FLIGHT``), and how many those were."""
    if cut is None or not events:
        return events, 0
    async with reading_at(conn, cut):
        rows = await conn.fetch(
            "SELECT event_id FROM scoring.events WHERE event_id = ANY($1::text[])",
            [e.event_id for e in events],
        )
    applied = {r["event_id"] for r in rows}
    recent = cut.at - IN_FLIGHT
    kept = [e for e in events if e.event_id in applied or e.recorded_at < recent]
    return kept, len(events) - len(kept)


@dataclass
class Audit:
    """What the audit of some dossiers found, and what ``compare_whole`` needs of them: the facts
    differences (the first ``KEEP``, and how many in all), how many dossiers had a live row, the
    dossiers' ids (16 bytes each), the events folded and the figures they add up to."""

    events: int = 0
    dossiers: int = 0
    live_rows: int = 0
    in_flight: int = 0  # events of the log scoring had not applied yet at the cut (``applied_only``)
    differences: list[Difference] = field(default_factory=list)
    difference_count: int = 0
    dossier_ids: bytearray = field(default_factory=bytearray)
    figures: dict[FigureKey, Counter[str]] = field(default_factory=dict)

    def found(self, differences: list[Difference]) -> None:
        self.differences.extend(differences[: max(0, KEEP - len(self.differences))])
        self.difference_count += len(differences)

    def merge(self, other: Audit) -> None:
        self.events += other.events
        self.dossiers += other.dossiers
        self.live_rows += other.live_rows
        self.in_flight += other.in_flight
        self.found(other.differences)
        self.difference_count += other.difference_count - len(other.differences)
        self.dossier_ids += other.dossier_ids
        for key, counts in other.figures.items():
            self.figures.setdefault(key, Counter()).update(counts)


async def audit_share(conn: asyncpg.Connection, projection: Projection, cut: Cut | None = None) -> Audit:
    """One share's projection against the live facts rows of its dossiers (at ``cut``)."""
    async with reading_at(conn, cut):
        rows = await conn.fetch(
            "SELECT * FROM scoring.dossier_facts WHERE dossier_id = ANY($1::uuid[])", list(projection.facts)
        )
    live = {r["dossier_id"]: DossierFacts.from_row(r) for r in rows}
    audit = Audit(
        events=len(projection.events),
        dossiers=len(projection.facts),
        live_rows=len(live),
        dossier_ids=bytearray(b"".join(dossier_id.bytes for dossier_id in projection.facts)),
        figures=projection.figures,
    )
    audit.found(facts_differences(projection.facts, live))
    return audit


def facts_differences(expected: dict[UUID, DossierFacts], live: dict[UUID, DossierFacts]) -> list[Difference]:
    """Column by column, for every dossier either side has."""
    diffs: list[Difference] = []
    for dossier_id in sorted(set(live) | set(expected), key=str):
        want, have = expected.get(dossier_id), live.get(dossier_id)
        key = (want or have).dossier_code if (want or have) else str(dossier_id)  # type: ignore[union-attr]
        if want is None or have is None:
            diffs.append(Difference("dossier_facts", key, "*", want is not None, have is not None))
            continue
        for f in fields(DossierFacts):
            if getattr(want, f.name) != getattr(have, f.name):
                diffs.append(
                    Difference("dossier_facts", key, f.name, getattr(want, f.name), getattr(have, f.name))
                )
    return diffs


async def live_figures(conn: asyncpg.Connection) -> dict[FigureKey, Counter[str]]:
    rows = await conn.fetch("SELECT * FROM scoring.figures")
    live: dict[FigureKey, Counter[str]] = {}
    for r in rows:
        counts = Counter({c: r[c] for c in COUNTERS if r[c]})
        if counts:  # rows that went back to zero mean nothing
            key = (r["dimension"], r["unit"], r["procedure_code"], r["period_kind"], r["period_start"])
            live[key] = counts
    return live


async def compare_whole(conn: asyncpg.Connection, audit: Audit, cut: Cut | None = None) -> list[Difference]:
    """The merged audit of the whole log against the live tables (at ``cut``): facts rows no
    dossier of the log has, then the figures and the count of events. Adds them to ``audit``
    and returns the differences kept, facts first."""
    async with reading_at(conn, cut):
        without = await _rows_without_dossier(conn, audit)
        figures = await live_figures(conn)
        events = await conn.fetchval("SELECT count(*) FROM scoring.events")
    audit.found(without)
    audit.found(figures_differences(audit.figures, figures))
    if events != audit.events:
        audit.found([Difference("events", "*", "count", audit.events, events)])
    return audit.differences


async def _rows_without_dossier(conn: asyncpg.Connection, audit: Audit) -> list[Difference]:
    # Every live row of an audited dossier was counted where it was compared: more rows than
    # that means rows of dossiers the log does not have, looked for only then.
    if await conn.fetchval("SELECT count(*) FROM scoring.dossier_facts") == audit.live_rows:
        return []
    ids = audit.dossier_ids
    known = {bytes(ids[i : i + 16]) for i in range(0, len(ids), 16)}
    rows = await conn.fetch("SELECT dossier_id, dossier_code FROM scoring.dossier_facts")
    return sorted(
        (
            Difference("dossier_facts", r["dossier_code"], "*", False, True)
            for r in rows
            if r["dossier_id"].bytes not in known
        ),
        key=lambda d: d.key,
    )


def figures_differences(
    expected: dict[FigureKey, Counter[str]], live: dict[FigureKey, Counter[str]]
) -> list[Difference]:
    diffs: list[Difference] = []
    for fkey in sorted(set(live) | set(expected)):
        want, have = expected.get(fkey, Counter()), live.get(fkey, Counter())
        for counter in COUNTERS:
            if want.get(counter, 0) != have.get(counter, 0):
                diffs.append(
                    Difference(
                        "figures",
                        "/".join(map(str, fkey)),
                        counter,
                        want.get(counter, 0),
                        have.get(counter, 0),
                    )
                )
    return diffs
