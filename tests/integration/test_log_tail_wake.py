"""A read model kept by tailing the log sees another writer's commit at once: it is woken by the
event store's own notification, not by its (here half-minute) timer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import asyncpg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from shared.eventlog.log_tail import LogTail
from shared.eventlog.store import ensure_schema, eventstore_env

SCHEMA = "tailtest"


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text


class Notes(Application[Any]):
    pass


async def test_a_commit_by_another_writer_wakes_the_tail_before_its_timer(database_url: str) -> None:
    await asyncio.to_thread(ensure_schema, database_url, SCHEMA)
    writer = Notes(env=eventstore_env(database_url, SCHEMA))  # another replica, say
    reader = Notes(env=eventstore_env(database_url, SCHEMA))
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
    await pool.execute(
        f"CREATE TABLE {SCHEMA}.index_position (name text PRIMARY KEY, position bigint NOT NULL);"
        f" INSERT INTO {SCHEMA}.index_position VALUES ('notes', 0);"
        f" CREATE TABLE {SCHEMA}.seen (text text NOT NULL, at timestamptz NOT NULL DEFAULT now())"
    )

    async def apply(conn: asyncpg.Connection, e: Any) -> None:
        await conn.execute(f"INSERT INTO {SCHEMA}.seen (text) VALUES ($1)", e.text)

    tail = LogTail(reader, lambda: pool, schema=SCHEMA, name="notes", apply=apply, every_s=30.0)
    stop = asyncio.Event()
    running = asyncio.create_task(tail.run(stop))
    try:
        await asyncio.sleep(1.0)  # listening; the first catch-up found nothing
        for n in range(3):
            await asyncio.to_thread(writer.save, Note(f"note {n}"))
            began = time.monotonic()
            while await pool.fetchval(f"SELECT count(*) FROM {SCHEMA}.seen") < n + 1:
                assert time.monotonic() - began < 5, f"note {n} not applied within 5 s"
                await asyncio.sleep(0.05)
        assert [r["text"] for r in await pool.fetch(f"SELECT text FROM {SCHEMA}.seen ORDER BY at")] == [
            "note 0",
            "note 1",
            "note 2",
        ]
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(running, timeout=5)
        await pool.close()
        writer.close()
        reader.close()
