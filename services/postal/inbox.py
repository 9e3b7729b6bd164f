"""Applying operator notices exactly once, and keeping the ones nobody can match.

The receipt row and the shipment's new step are written under one PostgreSQL transaction:
a duplicate of the same event id waits on the unique key until the first one commits, then
finds it and changes nothing. If the process dies after the shipment was saved but before the
receipt committed, the operator's retry applies the notice again, and the shipment ignores a
notice id it already has — so nothing counts twice either way.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import asyncpg

from services.postal.application import PostalApplication
from services.postal.notices import TrackingNotice
from services.postal.shipments_view import ShipmentsView

Outcome = Literal["applied", "no_change", "duplicate"]


class EventIdReused(Exception):
    """The operator sent an event id it had used before for a notice with other content."""


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    shipment_id: UUID


class WebhookInbox:
    def __init__(self, app: PostalApplication, shipments: ShipmentsView, pool: Any) -> None:
        self.app = app
        self.shipments = shipments
        self._pool = pool

    async def find(self, operator: str, tracking_number: str) -> UUID | None:
        found = await self._lookup(operator, tracking_number)
        if found is None:  # booked a moment ago? Look again even if another task caught up first
            await self.shipments.catch_up()
            found = await self._lookup(operator, tracking_number)
        return found

    async def _lookup(self, operator: str, tracking_number: str) -> UUID | None:
        found: UUID | None = await self._pool().fetchval(
            "SELECT shipment_id FROM postal.shipments WHERE operator = $1 AND tracking_number = $2",
            operator,
            tracking_number,
        )
        return found

    async def apply(self, operator: str, event_id: str, shipment_id: UUID, notice: TrackingNotice) -> Applied:
        """Applies a notice once; the same event id again is a duplicate if it says the same
        (however its JSON is spaced or ordered), else ``EventIdReused``."""
        content = hashlib.sha256(f"{shipment_id}:{notice.model_dump_json()}".encode()).hexdigest()
        conn: asyncpg.Connection
        async with self._pool().acquire() as conn, conn.transaction():
            fresh = await conn.fetchval(
                "INSERT INTO postal.webhook_receipts (operator, event_id, shipment_id, status, content_hash)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true",
                operator,
                event_id,
                shipment_id,
                notice.status,
                content,
            )
            if not fresh:
                held = await conn.fetchval(
                    "SELECT content_hash FROM postal.webhook_receipts WHERE operator = $1 AND event_id = $2",
                    operator,
                    event_id,
                )
                if held is not None and held != content:
                    raise EventIdReused(event_id)
                return Applied("duplicate", shipment_id)
            changed = await asyncio.to_thread(
                self.app.track,
                shipment_id,
                notice_id=f"{operator}:{event_id}",
                status=notice.status,
                at=notice.occurred_at,
                delivered_to=notice.delivered_to,
                reason=notice.reason,
            )
        await self.shipments.catch_up()
        return Applied("applied" if changed else "no_change", shipment_id)

    async def keep_unmatched(
        self, operator: str, event_id: str, tracking_number: str | None, body: bytes, reason: str
    ) -> None:
        await self._pool().execute(
            "INSERT INTO postal.unmatched_webhooks (operator, event_id, tracking_number, body, reason)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (operator, event_id) DO NOTHING",
            operator,
            event_id,
            tracking_number,
            body.decode("utf-8", errors="replace")[:20_000],
            reason,
        )

    async def unmatched(self, limit: int) -> list[dict[str, Any]]:
        rows = await self._pool().fetch(
            "SELECT id, operator, event_id, tracking_number, body, reason, received_at"
            " FROM postal.unmatched_webhooks ORDER BY id DESC LIMIT $1",
            limit,
        )
        return [{**dict(r), "received_at": r["received_at"].isoformat()} for r in rows]
