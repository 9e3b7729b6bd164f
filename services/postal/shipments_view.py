"""The shipments read model, kept by tailing postal's own notification log.

The aggregates are the truth; this table answers what they cannot answer cheaply: which
shipment has this tracking number, which shipments still wait for a booking, the figures.
It commits each batch together with its position, so it can be stopped anywhere, dropped and
rebuilt. A caller that needs to see its own write (a webhook arriving right after a booking)
calls ``catch_up`` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from services.postal.application import PostalApplication
from services.postal.domain import BookedEvent, Shipment, TrackedEvent
from services.postal.status import FAILURES

NAME = "shipments"

log = logging.getLogger(__name__)


class ShipmentsView:
    def __init__(
        self, app: PostalApplication, pool: Callable[[], asyncpg.Pool], batch_size: int = 500
    ) -> None:
        self.app = app
        self._pool = pool
        self.batch_size = batch_size
        self._lock = asyncio.Lock()

    async def catch_up(self) -> int:
        async with self._lock:
            total = 0
            while True:
                async with self._pool().acquire() as conn, conn.transaction():
                    after = await conn.fetchval(
                        "SELECT position FROM postal.index_position WHERE name = $1 FOR UPDATE", NAME
                    )
                    last, events = await asyncio.to_thread(self._read, int(after or 0))
                    if not events:
                        return total
                    for e in events:
                        await _apply(conn, e)
                    await conn.execute(
                        "INSERT INTO postal.index_position (name, position) VALUES ($1, $2)"
                        " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
                        NAME,
                        last,
                    )
                    total += len(events)

    def _read(self, after: int) -> tuple[int, list[Any]]:
        notifications = self.app.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        events = [self.app.mapper.to_domain_event(n) for n in notifications]
        return (notifications[-1].id if notifications else after), events

    async def run(self, stop: asyncio.Event, every_s: float = 0.5) -> None:
        """A safety net: writers call ``catch_up`` themselves; this covers other replicas' writes."""
        while not stop.is_set():
            try:
                await self.catch_up()
            except Exception:  # PostgreSQL down or restarting: the next round catches up
                log.warning("postal shipments view: catching up failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)


async def _apply(conn: asyncpg.Connection, e: Any) -> None:
    if isinstance(e, Shipment.Opened):
        await conn.execute(
            "INSERT INTO postal.shipments (shipment_id, dossier_id, dossier_code, kind, operator, status,"
            " opened_at) VALUES ($1, $2, $3, $4, $5, 'opened', $6) ON CONFLICT DO NOTHING",
            e.originator_id,
            e.dossier_id,
            e.dossier_code,
            e.kind,
            e.operator,
            e.occurred_at,
        )
    elif isinstance(e, BookedEvent):
        await conn.execute(
            "UPDATE postal.shipments SET status = 'booked', tracking_number = $2, fee_vnd = $3,"
            " booked_at = $4 WHERE shipment_id = $1",
            e.originator_id,
            e.tracking_number,
            e.fee_vnd,
            e.at,
        )
    elif isinstance(e, TrackedEvent) and e.moves:
        finishes = e.status == "delivered" or e.status in FAILURES
        await conn.execute(
            "UPDATE postal.shipments SET status = $2,"
            " finished_at = CASE WHEN $3 THEN coalesce(finished_at, $4) ELSE finished_at END"
            " WHERE shipment_id = $1",
            e.originator_id,
            e.status,
            finishes,
            e.at,
        )
