"""Payments' own PostgreSQL tables beside its event store (schema ``payments``).

* ``dossiers``: what payments needs from intake's received dossiers: who may see their charges
  (the department, the desk), the procedure, whose catalogue fee the fee charge is, and the hash
  of the receipt's tracking secret (the citizen's key to its charges).
* ``callback_receipts``: one row per platform transaction applied; the unique key makes a
  replayed or duplicated callback a no-op, and the content hash tells a reused transaction id
  (other content: 409).
"""

from __future__ import annotations

import asyncpg

DDL = """
CREATE TABLE IF NOT EXISTS payments.dossiers (
    dossier_id uuid PRIMARY KEY,
    dossier_code text NOT NULL UNIQUE,
    procedure_code text NOT NULL,
    department_code text NOT NULL,
    receiving_point text NOT NULL,
    received_at timestamptz NOT NULL
);
-- the SHA-256 of the citizen's tracking secret: the citizen pays from the tracking page with it
ALTER TABLE payments.dossiers ADD COLUMN IF NOT EXISTS tracking_hash text;
CREATE TABLE IF NOT EXISTS payments.callback_receipts (
    provider text NOT NULL,
    transaction_id text NOT NULL,
    charge_id uuid NOT NULL,
    status text NOT NULL,
    content_hash text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, transaction_id)
);
"""


async def ensure_payments_tables(conn: asyncpg.Connection) -> None:
    # Replicas starting at once race on CREATE ... IF NOT EXISTS: serialise them.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl:payments-tables'))")
        await conn.execute(DDL)
