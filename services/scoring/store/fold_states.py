"""Each dossier's fold state as a row (``scoring.fold_state``), so a new event is applied to it alone.

The live consumer reads the states of the dossiers a batch touches, applies the new events and
writes them back; it no longer reads and parses a dossier's whole history for every batch. The
state is JSON (its own schema, versioned by ``V``): a state of another version is ignored and
that dossier folded from its history once, which then stores a current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, get_type_hints
from uuid import UUID

import asyncpg
from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict

from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.fold import FoldState, Receipt
from shared.clock import (
    ClockFact,
    Finished,
    Reappointed,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
)
from shared.contracts.processing import ClockStamp

V = 1
_receipt = TypeAdapter(Receipt)
# The facts a state holds, each typed as in the row, none required: a state keeps only the
# fields its events set (rows written before this kept every field, nulls and defaults too).
_Facts: Any = TypedDict(  # type: ignore[misc]  # built from the row's own fields
    "_Facts", get_type_hints(DossierFacts), total=False
)


class _Entry(BaseModel):
    kind: Literal["transferred", "supplement_requested", "supplement_completed", "reappointed", "finished"]
    at: datetime
    agency: str | None = None
    share_days: int | None = None
    number: int | None = None
    new_due: datetime | None = None
    reason: str | None = None


class _Stored(BaseModel):
    v: int
    facts: _Facts
    receipt: dict[str, Any] | None
    clock: list[_Entry]
    case_opened: bool
    paused: bool
    stamp: ClockStamp | None
    stamp_at: datetime | None
    stamp_due_at: datetime | None
    case_events: int
    case_top_version: int
    last: tuple[datetime, int, int, str] | None


def _entry(fact: ClockFact) -> _Entry:
    if isinstance(fact, Transferred):
        return _Entry(kind="transferred", at=fact.at, agency=fact.agency, share_days=fact.share_days)
    if isinstance(fact, SupplementRequested):
        return _Entry(kind="supplement_requested", at=fact.at, number=fact.number)
    if isinstance(fact, SupplementCompleted):
        return _Entry(kind="supplement_completed", at=fact.at)
    if isinstance(fact, Reappointed):
        return _Entry(kind="reappointed", at=fact.at, new_due=fact.new_due, reason=fact.reason)
    if isinstance(fact, Finished):
        return _Entry(kind="finished", at=fact.at)
    raise ValueError(f"no case event gives the clock fact {fact!r}")


def _fact(entry: _Entry) -> ClockFact:
    if entry.kind == "transferred":
        return Transferred(at=entry.at, agency=entry.agency or "", share_days=entry.share_days)
    if entry.kind == "supplement_requested":
        return SupplementRequested(at=entry.at, number=entry.number or 1)
    if entry.kind == "supplement_completed":
        return SupplementCompleted(at=entry.at)
    if entry.kind == "reappointed":
        assert entry.new_due is not None  # written by _entry
        return Reappointed(at=entry.at, new_due=entry.new_due, reason=entry.reason or "")
    return Finished(at=entry.at)


def dump(state: FoldState) -> str:
    # Constructed, not validated: every value is the fold's own. The facts are written as they
    # are (pydantic words each value by its type), not first made into a full row.
    stored = _Stored.model_construct(
        v=V,
        facts=state.facts,  # type: ignore[arg-type]  # the typed dict of the same fields
        receipt=None if state.receipt is None else _receipt.dump_python(state.receipt, mode="json"),
        clock=[_entry(f) for f in state.clock],
        case_opened=state.case_opened,
        paused=state.paused,
        stamp=state.stamp,
        stamp_at=state.stamp_at,
        stamp_due_at=state.stamp_due_at,
        case_events=state.case_events,
        case_top_version=state.case_top_version,
        last=state.last,
    )
    return stored.model_dump_json()


def load(text: str | bytes) -> FoldState | None:
    """The state, or None if it was written by another version of this schema."""
    stored = _Stored.model_validate_json(text)
    if stored.v != V:
        return None
    # Only the fields events set: ``fold`` tells "never set" from a value by absence (setdefault).
    raw = {name: value for name, value in stored.facts.items() if value is not None}
    raw.pop("paused", None)
    return FoldState(
        facts=raw,
        receipt=None if stored.receipt is None else _receipt.validate_python(stored.receipt),
        clock=[_fact(e) for e in stored.clock],
        case_opened=stored.case_opened,
        paused=stored.paused,
        stamp=stored.stamp,
        stamp_at=stored.stamp_at,
        stamp_due_at=stored.stamp_due_at,
        case_events=stored.case_events,
        case_top_version=stored.case_top_version,
        last=stored.last,
    )


async def states_of(conn: asyncpg.Connection, dossier_ids: Sequence[UUID]) -> dict[UUID, FoldState]:
    rows = await conn.fetch(
        "SELECT dossier_id, state FROM scoring.fold_state WHERE dossier_id = ANY($1::uuid[])", dossier_ids
    )
    states = {}
    for row in rows:
        state = load(row["state"])
        if state is not None:
            states[row["dossier_id"]] = state
    return states


async def save_states(conn: asyncpg.Connection, states: dict[UUID, FoldState]) -> None:
    if not states:
        return
    await conn.execute(
        "INSERT INTO scoring.fold_state (dossier_id, state)"
        " SELECT * FROM unnest($1::uuid[], $2::jsonb[])"
        " ON CONFLICT (dossier_id) DO UPDATE SET state = EXCLUDED.state",
        list(states),
        [dump(s) for s in states.values()],
    )
