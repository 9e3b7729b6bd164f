"""Replays started over HTTP (``POST /ops/replays``), with progress anyone may poll.

The same rebuild as ``motcua replay scoring``: every store read and folded into scoring's
projection, then the tables replaced in one transaction. The operator of the web page wants to
see it move, so each replay keeps its phases' counts (what the command line shows as bars) and
``GET /ops/replays/{id}`` answers them with the rate and the time left.

The reading and folding run in one worker thread with a single partition: the command line's
worker processes are forked, and forking a server process that holds an event loop, a NATS
connection and a database pool is not safe. So a replay started here is slower than one from
the command line (about one core), and the service's own requests share the interpreter with it
meanwhile; for a large log the command line is the faster tool. One replay runs at a time per
process; replays are kept in the process's memory (the last ``KEEP`` of them), so a restart
forgets them — the tables they wrote stay, of course.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.ops.replay_parts import FOLD, READ, buckets_for, stored_events
from services.ops.replay_parts import replay as rebuild_scoring
from services.ops.replay_progress import apply_tick
from services.scoring.rebuild import Share
from shared.eventlog.singleton import NAMESPACE, lock_key

log = logging.getLogger(__name__)

WRITE = "writing scoring's tables"
# the phases as the API names them (stable keys a page can translate), in order
PHASE_KEYS = {READ: "read", FOLD: "fold", WRITE: "write"}
KEEP = 10


REPLAY_LOCK = lock_key("scoring", "replay")


class ReplayRunning(Exception):
    def __init__(self, running: str) -> None:
        super().__init__(running)
        self.running = running


@dataclass
class Phase:
    total: int
    unit: str
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    def view(self, key: str) -> dict[str, Any]:
        elapsed = max((self.ended or time.monotonic()) - self.started, 1e-9)
        rate = self.done / elapsed
        finished = self.ended is not None
        # nothing done yet: the time left is unknown (None), not zero
        left = None if finished else (self.total - self.done) / rate if rate else None
        # a phase whose size is not known yet (the dossiers, until the stores are read) is at 0 %
        percent = round(100 * self.done / self.total, 1) if self.total else (100.0 if finished else 0.0)
        return {
            "phase": key,
            "unit": self.unit,
            "done": self.done,
            "total": self.total,
            "percent": percent,
            "rate_per_s": round(rate, 1),
            "elapsed_s": round(elapsed, 1),
            "left_s": None if left is None else round(max(left, 0.0), 1),
            "finished": self.ended is not None,
        }


@dataclass
class Replay:
    """One replay: its phases' counts, written by the worker thread, read by the API.

    The worker only adds to integers and sets fields, each a single step under the GIL, so a
    reader sees a count a moment old at worst, never a torn one.
    """

    id: str
    started_by: str
    started_at: datetime
    state: str = "running"  # running, done, failed
    phases: dict[str, Phase] = field(default_factory=dict)
    finished_at: datetime | None = None
    result: dict[str, int] | None = None
    error: str | None = None

    # the Reporter protocol of services.ops.progress, so the command line's ticks drive it
    def phase(self, name: str, total: int, unit: str) -> None:
        self.phases[name] = Phase(total, unit)

    def advance(self, name: str, n: int) -> None:
        self.phases[name].done += n

    def grow(self, name: str, n: int) -> None:
        self.phases[name].total += n

    def done(self, name: str) -> None:
        phase = self.phases[name]
        phase.done = max(phase.done, phase.total)
        phase.ended = time.monotonic()

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "phases": [phase.view(PHASE_KEYS.get(name, name)) for name, phase in self.phases.items()],
            "result": self.result,
            "error": self.error,
        }


class Replays:
    def __init__(self, database_url: str, pool: Callable[[], asyncpg.Pool]) -> None:
        self.database_url = database_url
        self.pool = pool
        self.replays: dict[str, Replay] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def running(self) -> Replay | None:
        return next((r for r in self.replays.values() if r.state == "running"), None)

    def get(self, replay_id: str) -> Replay | None:
        return self.replays.get(replay_id)

    def recent(self) -> list[Replay]:
        return sorted(self.replays.values(), key=lambda r: r.started_at, reverse=True)

    async def start(self, started_by: str) -> Replay:
        """Starts a replay in the background and returns it at once; ``ReplayRunning`` if one
        runs, here or in another replica of scoring (two would replace the tables in turn, each
        with what it read before the other wrote)."""
        busy = self.running()
        if busy is not None:
            raise ReplayRunning(busy.id)
        # A session lock on a connection the replay keeps until it ends: it dies with the process.
        conn = await self.pool().acquire()
        try:
            got = await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, REPLAY_LOCK)
        except BaseException:
            await self.pool().release(conn)
            raise
        if not got:
            await self.pool().release(conn)
            raise ReplayRunning("another replica")
        replay = Replay(secrets.token_hex(8), started_by, datetime.now(UTC))
        # the read phases exist from the start, so the first poll already shows the stages
        replay.phase(READ, 0, "events")
        replay.phase(FOLD, 0, "dossiers")
        self.replays[replay.id] = replay
        for old in self.recent()[KEEP:]:
            del self.replays[old.id]
        task = asyncio.create_task(self._locked(replay, conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return replay

    async def keep(self, stop: asyncio.Event) -> None:
        """A background loop of the service's host: when the service stops, a running replay is
        cancelled (its tables are written in one transaction, so nothing half-written stays)."""
        await stop.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _locked(self, replay: Replay, conn: asyncpg.Connection) -> None:
        try:
            await self._run(replay)
        finally:
            try:
                await conn.fetchval("SELECT pg_advisory_unlock($1, $2)", NAMESPACE, REPLAY_LOCK)
            finally:
                # Released anyway: the pool's reset unlocks every advisory lock of the session.
                await self.pool().release(conn)

    async def _run(self, replay: Replay) -> None:
        try:
            stored = await asyncio.to_thread(stored_events, self.database_url)
            replay.phase(READ, stored, "events")
            replay.phase(FOLD, 0, "dossiers")
            # The command line's rebuild in one part (staging tables, in buckets when the log is
            # too big for memory): this process must not hold a large log's contracts.
            share: Share = await asyncio.to_thread(
                rebuild_scoring,
                self.database_url,
                1,
                report=lambda tick: apply_tick(replay, tick),
                buckets=buckets_for(stored, 1),
                before_swap=lambda staged: _writing(replay, staged),
            )
            replay.done(WRITE)
            replay.result = {
                "events": share.events,
                "dossiers": share.dossiers,
                "figure_rows": len(share.figures),
            }
            replay.state = "done"
        except asyncio.CancelledError:
            replay.state = "failed"
            replay.error = "stopped with the service"
            raise
        except Exception as exc:
            log.exception("replay %s failed", replay.id)
            replay.state = "failed"
            replay.error = repr(exc)[:500]
        finally:
            replay.finished_at = datetime.now(UTC)


def _writing(replay: Replay, staged: Share) -> None:
    replay.done(READ)
    replay.done(FOLD)
    # one transaction: this phase moves once, when the new tables are committed
    replay.phase(WRITE, staged.events + staged.dossiers + len(staged.figures), "rows")
