"""Notify's tables (schema ``notify``).

* ``dossiers``: every received dossier, with the channel its citizen chose (or none) and the
  applicant sealed as intake published it (opened only to send, never stored in clear).
* ``outbox``: one row per message owed, written in the same transaction that records the event
  as processed, so that an event is never told twice nor forgotten; ``status`` goes
  ``pending`` -> ``sent``; a row is sent under its row lock, so two senders never send it at once.
"""

from __future__ import annotations

import asyncpg

DDL = """
CREATE TABLE IF NOT EXISTS notify.dossiers (
    dossier_id uuid PRIMARY KEY,
    dossier_code text NOT NULL,
    channel text,
    applicant jsonb
);
CREATE TABLE IF NOT EXISTS notify.outbox (
    id bigserial PRIMARY KEY,
    source_event_id text NOT NULL UNIQUE,
    dossier_id uuid NOT NULL,
    dossier_code text NOT NULL,
    kind text NOT NULL,
    channel text NOT NULL,
    vars jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    not_before timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_pending ON notify.outbox (not_before) WHERE status = 'pending';
"""


async def ensure_notify_tables(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl:notify-tables'))")
        await conn.execute(DDL)
