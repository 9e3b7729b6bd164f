"""``python -m bench.consumer_only``: scoring's projection of new events, timed without NATS.

Feeds every event of ``scoring.events`` (in the order they were recorded, as the live consumer
receives them) in batches of ``--batch`` through scoring's own ``apply_events`` into a scratch
database on the same server, and reports events per second and CPU per event of this process
(PostgreSQL's share is not in it). Run it on a database a ``python -m bench`` run loaded, from
two trees in turn, for a before/after of the consumer's write path alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from urllib.parse import urlparse, urlunparse

import asyncpg

from services.scoring.store import writer
from services.scoring.store.schema import DDL, DROP
from shared.contracts import parse_event

SCRATCH = "consumer_only_scratch"


async def run(database_url: str, batch: int, limit: int | None) -> dict[str, float]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT payload::text FROM scoring.events ORDER BY recorded_at, event_id"
            + (f" LIMIT {int(limit)}" if limit else "")
        )
        await conn.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
        await conn.execute(f"CREATE DATABASE {SCRATCH}")
    finally:
        await conn.close()
    events = [parse_event(r[0]) for r in rows]
    scratch = urlunparse(urlparse(database_url)._replace(path=f"/{SCRATCH}"))
    conn = await asyncpg.connect(scratch)
    try:
        await conn.execute(DROP)
        await conn.execute(DDL)
        wall, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(events), batch):
            async with conn.transaction():
                await writer.apply_events(conn, events[start : start + batch])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        await conn.close()
    return {
        "events": len(events),
        "seconds": round(wall, 2),
        "per_s": round(len(events) / wall, 1),
        "cpu_us_per_event": round(cpu / len(events) * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=500, help="events per batch (the consumer pulls 500)")
    parser.add_argument("--limit", type=int, help="only the first N events")
    args = parser.parse_args()
    print(asyncio.run(run(os.environ["DATABASE_URL"], args.batch, args.limit)), flush=True)


if __name__ == "__main__":
    main()
