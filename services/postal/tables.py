"""Postal's own PostgreSQL tables beside its event store (schema ``postal``).

* ``recipients``: what delivery needs from intake's received dossiers. Only dossiers whose
  result goes back by post keep the applicant, sealed as intake published it (personal data:
  never in clear here; nothing for the others); every dossier keeps its channel for the postal
  share figures. The clear ``full_name``, ``phone``, ``address`` columns are from before
  encryption and are no longer written.
* ``shipments``: a read model of the shipment aggregates (by tracking number, by dossier, by
  status), rebuilt from postal's own notification log by ``shipments_view.ShipmentsView``.
* ``webhook_receipts``: one row per operator notice applied; the unique key makes a replayed
  or duplicated notice a no-op, and the content hash tells a reused event id (other content).
* ``unmatched_webhooks``: notices for a tracking number nobody knows, kept for inspection.
"""

from __future__ import annotations

import asyncpg

DDL = """
CREATE TABLE IF NOT EXISTS postal.recipients (
    dossier_id uuid PRIMARY KEY,
    dossier_code text NOT NULL,
    procedure_code text NOT NULL,
    channel smallint NOT NULL,
    postal_return boolean NOT NULL,
    received_at timestamptz NOT NULL,
    full_name text,
    phone text,
    address text
);
-- Sealed applicant (SealedPersonalData); the clear columns above stay empty since encryption.
ALTER TABLE postal.recipients ADD COLUMN IF NOT EXISTS applicant jsonb;
CREATE TABLE IF NOT EXISTS postal.shipments (
    shipment_id uuid PRIMARY KEY,
    dossier_id uuid NOT NULL,
    dossier_code text NOT NULL,
    kind text NOT NULL,
    operator text NOT NULL,
    status text NOT NULL,
    tracking_number text,
    fee_vnd integer NOT NULL DEFAULT 0,
    opened_at timestamptz NOT NULL,
    booked_at timestamptz,
    finished_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS shipments_tracking
    ON postal.shipments (operator, tracking_number) WHERE tracking_number IS NOT NULL;
CREATE INDEX IF NOT EXISTS shipments_open ON postal.shipments (status) WHERE status = 'opened';
CREATE INDEX IF NOT EXISTS shipments_dossier ON postal.shipments (dossier_code);
CREATE TABLE IF NOT EXISTS postal.index_position (
    name text PRIMARY KEY,
    position bigint NOT NULL
);
-- The row exists before any catch-up: replicas serialise their catch-ups by locking it, and
-- a missing row would lock nothing (two replicas would apply the same events at once).
INSERT INTO postal.index_position (name, position) VALUES ('shipments', 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS postal.webhook_receipts (
    operator text NOT NULL,
    event_id text NOT NULL,
    shipment_id uuid NOT NULL,
    status text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operator, event_id)
);
-- What the notice said (sha-256 of its canonical form): the same id with other content is the
-- operator's bug, told back as 409. Rows from before this column have none and count as the same.
ALTER TABLE postal.webhook_receipts ADD COLUMN IF NOT EXISTS content_hash text;
CREATE TABLE IF NOT EXISTS postal.unmatched_webhooks (
    id bigserial PRIMARY KEY,
    operator text NOT NULL,
    event_id text NOT NULL,
    tracking_number text,
    body text NOT NULL,
    reason text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (operator, event_id)
);
"""


async def ensure_postal_tables(conn: asyncpg.Connection) -> None:
    # Replicas starting at once race on CREATE ... IF NOT EXISTS: serialise them.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl:postal-tables'))")
        await conn.execute(DDL)
