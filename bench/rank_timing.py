"""Times the ranking endpoint at scale: ``python -m bench.rank_timing DATABASE_URL N``.

Fixture, not the write path: N dossiers from ``dossier_mix`` are folded with scoring's own
domain and loaded with COPY into a fresh ``scoring`` schema (the consumer's per-batch path
would take hours at 1 M). Then: the refold path once (what every live request did before),
the live facts computation, and ~200 requests to ``GET /ranking`` through the real router
and the services' access guard (in process, no socket; an auditor's bearer token verified as a
service verifies it), beside a primary-key SELECT on the same server.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from fastapi import FastAPI

from bench.dossier_mix import dossier
from bench.identity import AUDITOR_USER, identity_env, issuer_in
from services.scoring import reports
from services.scoring.api import build_router
from services.scoring.domain.dossier_facts import COLUMNS
from services.scoring.domain.fold import fold
from services.scoring.live_index import live_tallies
from services.scoring.reports import Query
from services.scoring.store.schema import DDL, DROP
from services.scoring.store.writer import event_record
from shared.auth.dev_issuer import demo_user
from shared.auth.guard import install_guard
from shared.auth.settings import verifier_from_env

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def load(conn: asyncpg.Connection, n: int, start: datetime, horizon: datetime) -> None:
    await conn.execute(DROP)
    await conn.execute(DDL)
    rnd = random.Random(n)  # noqa: S311 - a reproducible fixture, not a secret
    chunk = 20_000
    for base in range(0, n, chunk):
        histories = [dossier(rnd, base + i, start, 300, horizon) for i in range(min(chunk, n - base))]
        histories = [h for h in histories if h]
        await conn.copy_records_to_table(
            "events",
            schema_name="scoring",
            columns=["event_id", "dossier_id", "event_type", "occurred_at", "recorded_at", "payload"],
            records=[event_record(e) for h in histories for e in h],
        )
        await conn.copy_records_to_table(
            "dossier_facts",
            schema_name="scoring",
            columns=list(COLUMNS),
            records=[fold(h).values() for h in histories],
        )
        print(f"  loaded {base + len(histories)}", file=sys.stderr)
    await conn.execute("ANALYZE scoring.dossier_facts")


async def main(url: str, n: int, skip_load: bool) -> None:
    now = datetime.now(VN)
    start = now - timedelta(days=310)
    pool = await asyncpg.create_pool(url, min_size=2, max_size=4)
    async with pool.acquire() as conn:
        if not skip_load:
            t = time.perf_counter()
            await load(conn, n, start, now)
            print(f"load {n}: {time.perf_counter() - t:.1f} s")
        count = await conn.fetchval("SELECT count(*) FROM scoring.dossier_facts")
        some = await conn.fetchval("SELECT dossier_id FROM scoring.dossier_facts LIMIT 1")
    print(f"dossiers {count}")
    last_month = (now.replace(day=1) - timedelta(days=1)).date()
    queries = {
        "month (running)": Query("department", "month", now.date().replace(day=1)),
        "month (closed)": Query("department", "month", last_month.replace(day=1)),
        "year (running)": Query("department", "year", date(now.year, 1, 1)),
    }
    async with pool.acquire() as conn:
        q = queries["month (closed)"]
        begin, _, moment = q.window()
        t = time.perf_counter()
        await reports.tallies(conn, Query(q.dimension, q.kind, q.start, as_of=moment))
        print(f"before (refold, as the old live path did), closed month: {time.perf_counter() - t:.2f} s")
        for name, q in queries.items():
            begin, _, moment = q.window()
            times = []
            for _ in range(3):
                t = time.perf_counter()
                await live_tallies(conn, q.dimension, begin, moment)
                times.append(time.perf_counter() - t)
            print(f"live tallies from facts, {name}: median {statistics.median(times) * 1000:.0f} ms")
    issuer, jwks = issuer_in(Path(tempfile.mkdtemp(prefix="motcua-rank-timing-")))
    os.environ.update(identity_env(issuer, jwks))
    app = FastAPI()
    app.state.verifier = verifier_from_env()
    install_guard(app, "scoring")
    app.include_router(build_router(SimpleNamespace(pool=pool, consumers=[])))  # type: ignore[arg-type]
    auditor = {"Authorization": f"Bearer {issuer.token_for(demo_user(AUDITOR_USER))}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://x", headers=auditor
    ) as client:
        for name, q in queries.items():
            params = {"period": q.kind, "start": q.start.isoformat()}
            assert (await client.get("/ranking", params=params)).status_code == 200  # first: computed
            samples, pk = [], []
            for _ in range(200):
                t = time.perf_counter()
                r = await client.get("/ranking", params=params)
                samples.append(time.perf_counter() - t)
                assert r.status_code == 200
                t = time.perf_counter()
                await pool.fetchrow("SELECT * FROM scoring.dossier_facts WHERE dossier_id = $1", some)
                pk.append(time.perf_counter() - t)
                await asyncio.sleep(0.02)
            fresh = r.json()["freshness"]
            print(
                f"GET /ranking {name}: p50 {pct(samples, 0.5):.1f} ms p99 {pct(samples, 0.99):.1f} ms;"
                f" PK SELECT p50 {pct(pk, 0.5):.1f} ms p99 {pct(pk, 0.99):.1f} ms;"
                f" last age {fresh['age_s']} s, compute {fresh['compute_s']} s"
            )
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), "--skip-load" in sys.argv))
