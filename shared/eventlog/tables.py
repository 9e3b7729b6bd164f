"""PostgreSQL tables the event log machinery keeps beside each service's own tables."""

from __future__ import annotations

import asyncpg

from shared.eventlog.singleton import singletons_ddl


def _ddl(schema: str) -> str:
    return f"""
    CREATE SCHEMA IF NOT EXISTS {schema};
    CREATE TABLE IF NOT EXISTS {schema}.relay_position (
        relay text PRIMARY KEY,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    -- Self-healing (relay.py): what the relay knows of the stream it publishes to, and the
    -- position every consumer of its events had acknowledged (where a re-publish starts).
    ALTER TABLE {schema}.relay_position
        ADD COLUMN IF NOT EXISTS published bigint,
        ADD COLUMN IF NOT EXISTS last_seq bigint NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS checkpoint bigint NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS checkpoint_published bigint NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS stream_created text,
        ADD COLUMN IF NOT EXISTS heals integer NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS last_healed_at timestamptz,
        ADD COLUMN IF NOT EXISTS last_heal text,
        -- ``published`` by event type (a JSON object, type -> count): consumers are
        -- given some types only, and the ops check compares each with what it was given.
        ADD COLUMN IF NOT EXISTS published_types jsonb,
        ADD COLUMN IF NOT EXISTS checkpoint_published_types jsonb;
    CREATE TABLE IF NOT EXISTS {schema}.processed_events (
        consumer text NOT NULL,
        event_id text NOT NULL,
        stream_seq bigint,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
    );
    CREATE TABLE IF NOT EXISTS {schema}.dead_letters (
        id bigserial PRIMARY KEY,
        consumer text NOT NULL,
        subject text NOT NULL,
        stream_seq bigint,
        payload bytea NOT NULL,
        headers jsonb NOT NULL DEFAULT '{{}}',
        reason text NOT NULL,
        dead_at timestamptz NOT NULL DEFAULT now(),
        redriven_at timestamptz
    );
    """


async def ensure_eventlog_tables(conn: asyncpg.Connection, schema: str) -> None:
    # Two services starting at once may race on CREATE ... IF NOT EXISTS; serialise them.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"ddl:{schema}")
        await conn.execute(_ddl(schema))
        await conn.execute(singletons_ddl(schema))
