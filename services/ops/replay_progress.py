"""Replaying and verifying the whole event log, with real progress.

Two phases, each with counts, rate and time left (``services.ops.progress``): the stored events
read (each by one worker process: PostgreSQL sends each worker only the rows of its dossiers)
and the dossiers folded (known once the workers have read their share).
"""

from __future__ import annotations

from rich.console import Console

from services.ops.progress import Reporter, reporter_for
from services.ops.replay_parts import (
    FOLD,
    READ,
    Tick,
    buckets_for,
    default_parts,
    replay,
    stored_events,
    verify,
)
from services.scoring.rebuild import Share
from services.scoring.verify import Audit, Difference


def verify_with_progress(database_url: str, console: Console) -> tuple[Audit, list[Difference]]:
    """``motcua verify``: the same phases as a replay, each worker comparing its own dossiers."""
    parts = default_parts()
    stored = stored_events(database_url)
    with reporter_for(console) as progress:
        progress.phase(READ, stored, "events")
        progress.phase(FOLD, 0, "dossiers")
        found = verify(
            database_url,
            parts,
            report=lambda tick: apply_tick(progress, tick),
            buckets=buckets_for(stored, parts),
        )
        progress.done(READ)
        progress.done(FOLD)
    return found


def replay_with_progress(database_url: str, console: Console) -> Share:
    """``motcua replay scoring``: the same phases, each worker loading its own share, then the
    staged tables swapped in (one transaction)."""
    parts = default_parts()
    stored = stored_events(database_url)
    with reporter_for(console) as progress:
        progress.phase(READ, stored, "events")
        progress.phase(FOLD, 0, "dossiers")
        share = replay(
            database_url,
            parts,
            report=lambda tick: apply_tick(progress, tick),
            buckets=buckets_for(stored, parts),
        )
        progress.done(READ)
        progress.done(FOLD)
    return share


def apply_tick(progress: Reporter, tick: Tick) -> None:
    """A worker's tick as progress (the command line's bars, or an HTTP replay's counts)."""
    kind, n = tick
    if kind == "read":
        progress.advance(READ, n)
    elif kind == "dossiers":
        progress.grow(FOLD, n)
    else:
        progress.advance(FOLD, n)
