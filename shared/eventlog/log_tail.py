"""A read model kept by tailing a service's own notification log from a saved position.

The aggregates are the truth; a read model (a table) answers what they cannot answer cheaply.
Each batch of events is applied in one transaction together with the new position, taken
``FOR UPDATE``, so two replicas never apply the same batch and the table can be stopped anywhere,
dropped and rebuilt. Writers that must see their own write call ``catch_up`` first; ``run`` is
the safety net for a crash between an event's commit and the writer's own update, and for other
replicas' writes: it is woken by the event store's own notification of each commit
(``commits.py``), at most once per ``min_gap_s`` under a stream of commits, and otherwise every
``every_s`` in case a notification was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from shared.eventlog.commits import listen_for_commits

log = logging.getLogger(__name__)

Apply = Callable[[asyncpg.Connection, Any], Awaitable[None]]


class LogTail:
    """``apply(conn, event)`` writes one event into the model. ``topics`` limits what is read
    (the position then steps over the rest); ``wanted(notification)`` may skip a stored event
    before it is decoded, when its stored form already says it changes nothing."""

    def __init__(
        self,
        app: Any,
        pool: Callable[[], asyncpg.Pool],
        *,
        schema: str,
        name: str,
        apply: Apply,
        topics: Sequence[str] = (),
        wanted: Callable[[Any], bool] | None = None,
        batch_size: int = 500,
        every_s: float = 5.0,
        min_gap_s: float = 0.5,
    ) -> None:
        self.app = app
        self._pool = pool
        self.schema = schema
        self.name = name
        self._apply = apply
        self.topics = tuple(topics)
        self._wanted = wanted
        self.batch_size = batch_size
        self.every_s = every_s
        self.min_gap_s = min_gap_s
        self._lock = asyncio.Lock()

    async def catch_up(self) -> int:
        """Applies the log's events after the saved position; returns how many it applied."""
        async with self._lock:
            total = 0
            while True:
                async with self._pool().acquire() as conn, conn.transaction():
                    after = int(
                        await conn.fetchval(
                            f"SELECT position FROM {self.schema}.index_position WHERE name = $1 FOR UPDATE",
                            self.name,
                        )
                        or 0
                    )
                    last, events = await asyncio.to_thread(self._read, after)
                    if last == after:
                        return total
                    for event in events:
                        await self._apply(conn, event)
                    await conn.execute(
                        f"INSERT INTO {self.schema}.index_position (name, position) VALUES ($1, $2)"
                        " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
                        self.name,
                        last,
                    )
                    total += len(events)

    def _read(self, after: int) -> tuple[int, list[Any]]:
        # With a topic filter, the last id read is that of the last matching notification.
        notifications = self.app.recorder.select_notifications(
            start=after, limit=self.batch_size, topics=self.topics, inclusive_of_start=False
        )
        wanted = self._wanted
        events = [self.app.mapper.to_domain_event(n) for n in notifications if wanted is None or wanted(n)]
        return (notifications[-1].id if notifications else after), events

    async def run(self, stop: asyncio.Event) -> None:
        wake = asyncio.Event()
        helpers = [asyncio.create_task(_set_when(stop, wake))]
        channel = getattr(self.app.recorder, "channel_name", None)
        if channel is not None:  # a PostgreSQL store: woken by its commits
            helpers.append(
                asyncio.create_task(
                    listen_for_commits(
                        self._pool,
                        channel,
                        wake,
                        stop,
                        name=f"{self.schema}.{self.name}",
                        retry_s=self.every_s,
                    )
                )
            )
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                wake.clear()
                began = loop.time()
                try:
                    await self.catch_up()
                except Exception:  # PostgreSQL down or restarting: the next round catches up
                    log.warning("%s.%s: catching up failed; retrying", self.schema, self.name, exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=self.every_s)
                rest = self.min_gap_s - (loop.time() - began)
                if rest > 0:  # under a stream of commits, one catch-up per gap takes them all
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=rest)
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)


async def _set_when(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()
