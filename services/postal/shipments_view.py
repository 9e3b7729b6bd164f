"""The shipments read model, kept by tailing postal's own notification log.

The aggregates are the truth; this table answers what they cannot answer cheaply: which
shipment has this tracking number, which shipments still wait for a booking, the figures.
It commits each batch together with its position, so it can be stopped anywhere, dropped and
rebuilt. A caller that needs to see its own write (a webhook arriving right after a booking)
calls ``catch_up`` first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from services.postal.application import PostalApplication
from services.postal.domain import BookedEvent, Shipment, TrackedEvent
from services.postal.status import FAILURES
from shared.eventlog.log_tail import LogTail

NAME = "shipments"

log = logging.getLogger(__name__)


class ShipmentsView(LogTail):
    """Tailed on every commit of postal's store, at most twice a second (every 5 s without any):
    booking and webhooks catch it up themselves right after their own writes."""

    def __init__(
        self, app: PostalApplication, pool: Callable[[], asyncpg.Pool], batch_size: int = 500
    ) -> None:
        super().__init__(
            app, pool, schema="postal", name=NAME, apply=_apply, batch_size=batch_size, min_gap_s=0.5
        )


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
