"""Writing scoring's tables: one batch of events at a time, or everything at once (replay).

A batch costs a fixed handful of statements whatever its size: insert the new events, read the
fold states of the dossiers they touch, apply only the new events to them, upsert the facts and
states and add the figure differences. No per-event round trips, and no dossier's history read
back unless its events came out of order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.scoring.domain.dossier_facts import COLUMNS, DossierFacts
from services.scoring.domain.figures import COUNTERS, FigureKey, delta
from services.scoring.domain.fold import FoldState, apply, event_order, finish
from services.scoring.store.fold_states import save_states, states_of
from shared.contracts import AnyEvent, parse_event
from shared.contracts.catalogue import CatalogueEvent
from shared.contracts.json_text import contract_json

_FACTS_UPSERT = (
    f"INSERT INTO scoring.dossier_facts ({', '.join(COLUMNS)})"
    f" VALUES ({', '.join(f'${i + 1}' for i in range(len(COLUMNS)))})"
    " ON CONFLICT (dossier_id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
)
_FIGURE_KEY = ("dimension", "unit", "procedure_code", "period_kind", "period_start")
_FIGURES_ADD = (
    f"INSERT INTO scoring.figures ({', '.join(_FIGURE_KEY + COUNTERS)})"
    f" VALUES ({', '.join(f'${i + 1}' for i in range(len(_FIGURE_KEY) + len(COUNTERS)))})"
    " ON CONFLICT (dimension, period_kind, period_start, unit, procedure_code) DO UPDATE SET "
    + ", ".join(f"{c} = scoring.figures.{c} + EXCLUDED.{c}" for c in COUNTERS)
)


def event_record(event: AnyEvent) -> tuple[Any, ...]:
    return (
        event.event_id,
        event.dossier_id,
        event.event_type,
        event.occurred_at,
        event.recorded_at,
        contract_json(event),
    )


async def insert_events(conn: asyncpg.Connection, events: Sequence[AnyEvent]) -> None:
    records = [event_record(e) for e in events]
    await conn.execute(
        "INSERT INTO scoring.events (event_id, dossier_id, event_type, occurred_at, recorded_at, payload)"
        " SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[],"
        " $6::jsonb[]) ON CONFLICT (event_id) DO NOTHING",
        *(list(column) for column in zip(*records, strict=True)),
    )


async def events_of(conn: asyncpg.Connection, dossier_ids: Sequence[UUID]) -> dict[UUID, list[AnyEvent]]:
    rows = await conn.fetch(
        "SELECT dossier_id, payload FROM scoring.events WHERE dossier_id = ANY($1::uuid[])", dossier_ids
    )
    grouped: dict[UUID, list[AnyEvent]] = defaultdict(list)
    for row in rows:
        grouped[row["dossier_id"]].append(parse_event(row["payload"]))
    return grouped


async def apply_events(conn: asyncpg.Connection, events: Sequence[AnyEvent]) -> None:
    """Projects a batch of new events, inside the caller's transaction."""
    if not events:
        return
    # Catalogue entries are kept as events (for the catalogue indicators), never folded as dossiers.
    ids = sorted({e.dossier_id for e in events if not isinstance(e, CatalogueEvent)})
    await lock_dossiers(conn, ids)
    await insert_events(conn, events)
    if not ids:
        return
    old_rows = await conn.fetch(
        "SELECT * FROM scoring.dossier_facts WHERE dossier_id = ANY($1::uuid[]) ORDER BY dossier_id"
        " FOR UPDATE",
        ids,
    )
    old = {r["dossier_id"]: DossierFacts.from_row(r) for r in old_rows}
    dossier_events = [e for e in events if not isinstance(e, CatalogueEvent)]
    states = await advance(conn, dossier_events, await states_of(conn, ids), set(old))
    changes: dict[FigureKey, Counter[str]] = {}
    new_facts = []
    for dossier_id, state in states.items():
        facts = finish(state)
        if facts != old.get(dossier_id):
            delta(old.get(dossier_id), facts, changes)
            new_facts.append(facts)
    if new_facts:
        await conn.executemany(_FACTS_UPSERT, [f.values() for f in new_facts])
    await save_states(conn, states)
    await add_figures(conn, changes)


async def lock_dossiers(conn: asyncpg.Connection, ids: Sequence[UUID]) -> None:
    """Until the caller's transaction ends, no other batch projects these dossiers.

    Replicas of scoring project batches side by side, and two batches may hold events of the
    same dossier. A dossier seen for the first time has no facts row to lock, so without this
    each would fold only its own events (the other's are not committed yet) and the last to
    commit would win. Once one commits, the other folds everything: each statement of a READ
    COMMITTED transaction sees what committed before it. Locked in one order (the ids sorted),
    so that two batches never wait on each other in a cycle.
    """
    await conn.execute(
        "SELECT count(pg_advisory_xact_lock(hashtextextended(id::text, 0)))"
        " FROM (SELECT id FROM unnest($1::uuid[]) AS u(id) ORDER BY id) AS ordered",
        list(ids),
    )


async def advance(
    conn: asyncpg.Connection,
    events: Sequence[AnyEvent],
    states: dict[UUID, FoldState],
    projected: set[UUID],
) -> dict[UUID, FoldState]:
    """The touched dossiers' states with the new events applied.

    A new event is applied to the stored state when it comes after everything in it (the usual
    case); a dossier whose event arrives out of business-time order, or that was projected
    without a state (before states were kept, or since a replay), is folded from its whole
    history once, in one query for all of them.
    """
    grouped: dict[UUID, list[AnyEvent]] = defaultdict(list)
    for event in events:
        grouped[event.dossier_id].append(event)
    advanced: dict[UUID, FoldState] = {}
    refold: list[UUID] = []
    for dossier_id, new in grouped.items():
        new.sort(key=event_order)
        state = states.get(dossier_id)
        if state is None and dossier_id not in projected:
            state = FoldState.new(dossier_id, new[0].dossier_code)
        if state is None or not state.follows(new[0]):
            refold.append(dossier_id)
            continue
        for event in new:
            apply(state, event)
        advanced[dossier_id] = state
    if refold:
        for dossier_id, history in (await events_of(conn, refold)).items():
            history.sort(key=event_order)
            state = FoldState.new(dossier_id, history[0].dossier_code)
            for event in history:
                apply(state, event)
            advanced[dossier_id] = state
    return advanced


async def add_figures(conn: asyncpg.Connection, changes: dict[FigureKey, Counter[str]]) -> None:
    rows = [
        (*key, *(part.get(c, 0) for c in COUNTERS))
        for key, part in sorted(changes.items(), key=_sort_key)
        if any(part.values())
    ]
    if rows:
        await conn.executemany(_FIGURES_ADD, rows)


def _sort_key(item: tuple[FigureKey, Counter[str]]) -> tuple[str, str, str, str, date]:
    return item[0]  # a stable lock order: concurrent batches never deadlock on figure rows


async def copy_all(
    conn: asyncpg.Connection,
    events: Iterable[tuple[Any, ...]],
    facts: Iterable[DossierFacts],
    figures: dict[FigureKey, Counter[str]],
    schema: str = "scoring",
) -> None:
    """Bulk load for a replay into freshly created tables (COPY, no per-row statements);
    ``schema``: a replay worker's staging copy of scoring's tables."""
    await conn.copy_records_to_table(
        "events",
        schema_name=schema,
        columns=["event_id", "dossier_id", "event_type", "occurred_at", "recorded_at", "payload"],
        records=events,
    )
    await conn.copy_records_to_table(
        "dossier_facts",
        schema_name=schema,
        columns=list(COLUMNS),
        # Field by field: ``row()`` (dataclasses.asdict) deep-copies every value, which cost a
        # replay more than the COPY itself; the values are immutable, so a plain tuple is the same.
        records=[tuple(getattr(f, column) for column in COLUMNS) for f in facts],
    )
    await conn.copy_records_to_table(
        "figures",
        schema_name=schema,
        columns=list(_FIGURE_KEY + COUNTERS),
        records=[(*k, *(v.get(c, 0) for c in COUNTERS)) for k, v in figures.items()],
    )
