"""Dossiers collected by the postal service (Decision 45/2016/QĐ-TTg).

For a postal filing the legal clock starts when the agency takes the dossier over from the
postal staff (Decree 118/2025), not when the citizen handed it to the postman. Intake learns
that moment from postal's ``ShipmentDelivered`` (kind ``pickup``) and uses it as the receipt
time when the desk then receives the dossier through the postal channel.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from shared.contracts import AnyEvent, ShipmentDelivered, ShipmentFailed

DDL = """
CREATE TABLE IF NOT EXISTS intake.pickups (
    reference text PRIMARY KEY,
    shipment_id uuid NOT NULL,
    operator text NOT NULL,
    status text NOT NULL,
    handed_over_at timestamptz,
    note text
);
-- the filing that the collected dossier became: one pickup is one dossier
ALTER TABLE intake.pickups ADD COLUMN IF NOT EXISTS claimed_by text;
"""


async def record_pickup(conn: asyncpg.Connection, event: AnyEvent) -> None:
    if not isinstance(event, ShipmentDelivered | ShipmentFailed) or event.kind != "pickup":
        return
    if isinstance(event, ShipmentDelivered):
        status, handed_over_at, note = "delivered", event.delivered_at, event.delivered_to
    else:
        status, handed_over_at, note = event.status, None, event.reason
    await conn.execute(
        "INSERT INTO intake.pickups (reference, shipment_id, operator, status, handed_over_at, note)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (reference) DO UPDATE SET"
        " status = EXCLUDED.status, handed_over_at = EXCLUDED.handed_over_at, note = EXCLUDED.note"
        " WHERE intake.pickups.status <> 'delivered'",
        event.dossier_code,
        event.shipment_id,
        event.operator,
        status,
        handed_over_at,
        note,
    )


async def handover_time(
    conn: asyncpg.Connection | asyncpg.Pool, reference: str
) -> tuple[str, datetime | None] | None:
    """(status, when the desk took the dossier over), or None if postal never reported it."""
    row = await conn.fetchrow(
        "SELECT status, handed_over_at FROM intake.pickups WHERE reference = $1", reference
    )
    return None if row is None else (row["status"], row["handed_over_at"])


async def claim_pickup(conn: asyncpg.Connection | asyncpg.Pool, reference: str, filing: str) -> bool:
    """Ties a delivered pickup to one filing (``filing``: a digest of the request, so that the
    same request retried claims it again); False if another filing already took it."""
    claimed = await conn.fetchval(
        "UPDATE intake.pickups SET claimed_by = $2 WHERE reference = $1"
        " AND (claimed_by IS NULL OR claimed_by = $2) RETURNING reference",
        reference,
        filing,
    )
    return claimed is not None


async def release_pickup(conn: asyncpg.Connection | asyncpg.Pool, reference: str, claimant: str) -> None:
    await conn.execute(
        "UPDATE intake.pickups SET claimed_by = NULL WHERE reference = $1 AND claimed_by = $2",
        reference,
        claimant,
    )
