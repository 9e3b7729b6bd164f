"""Reference workloads run on the same servers in the same run: what the hardware gives raw.

* raw asyncpg single-row inserts of an intake event's size, one transaction each;
* the ``eventsourcing`` library's default save path: one aggregate per ``save()``;
* a raw JetStream publish -> consume round trip;
* a raw nats-py read of the whole stream, and a raw asyncpg read of the stored events;
* a primary-key SELECT.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from bench.stats import latency_ms
from services.intake.application import IntakeApplication
from services.intake.domain import Dossier
from shared.eventlog import ensure_schema, eventstore_env

RAW_DDL = """
CREATE SCHEMA IF NOT EXISTS bench_ref;
CREATE TABLE IF NOT EXISTS bench_ref.raw_events (
    originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text, state bytea,
    notification_id bigserial, PRIMARY KEY (originator_id, originator_version)
);
"""


async def raw_inserts(database_url: str, concurrency: int, duration: float, size: int) -> dict[str, Any]:
    """One row per transaction, autocommit, as many as the clients manage in ``duration``."""
    setup = await asyncpg.connect(database_url)
    await setup.execute(RAW_DDL)
    await setup.close()
    pool = await asyncpg.create_pool(database_url, min_size=concurrency, max_size=concurrency)
    state = os.urandom(size)
    latencies: list[float] = []
    deadline = time.perf_counter() + duration

    async def client() -> None:
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await conn.execute(
                    "INSERT INTO bench_ref.raw_events (originator_id, originator_version, topic, state)"
                    " VALUES ($1, 1, 'services.intake.domain:Dossier.Registered', $2)",
                    uuid.uuid4(),
                    state,
                )
                latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    await pool.close()
    return {"per_s": round(len(latencies) / elapsed, 1), **latency_ms(latencies)}


def eventsourcing_saves(database_url: str, concurrency: int, duration: float) -> dict[str, Any]:
    """The library's default: every request saves its one new aggregate in its own transaction."""
    ensure_schema(database_url, "bench_es")
    env = eventstore_env(database_url, "bench_es", pool_size=concurrency)
    app = IntakeApplication(env=env)
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + duration
    now = datetime.now(UTC)

    def client(worker: int) -> None:
        serial = 0
        while time.perf_counter() < deadline:
            serial += 1
            started = time.perf_counter()
            code = f"REF-{concurrency}-{worker}-{serial}-{uuid.uuid4().hex[:6]}"
            app.save(Dossier(**_dossier_fields(code, now)))
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    app.close()
    return {"per_s": round(len(latencies) / elapsed, 1), **latency_ms(latencies)}


def _dossier_fields(code: str, at: datetime) -> dict[str, Any]:
    return {
        "code": code,
        "filing": {
            "procedure_code": "CT-BANSAO",
            "department_code": "UBNDX",
            "receiving_point": "TTPVHCC",
            "channel": 1,
            "online_level": None,
        },
        "outcome": "received",
        "terms": {
            "postal_return": False,
            "legal_days": None,
            "legal_hours": None,
            "same_day": True,
            "received_at": at,
            "due_at": at,
        },
        "missing_items": None,
        "refusal_reasons": None,
        "occurred_at": at,
        "backdate_reason": None,
        "actor": {"user_id": "tiepnhan", "role": "front_desk", "agency": "TTPVHCC", "channel": 1},
        "applicant": {
            "full_name": "Nguyễn Văn An",
            "citizen_id": "040085012345",
            "phone": "0912000001",
            "address": "Số 12 Lê Lợi, phường Đông Thành, tỉnh Nghệ An",
        },
    }


async def jetstream_round_trip(nats_url: str, rate: float, duration: float, size: int) -> dict[str, Any]:
    """Publish (acknowledged) at ``rate``/s, consume with a pull consumer; time publish -> receive."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream = f"BENCHRT{int(rate)}"
    await js.add_stream(StreamConfig(name=stream, subjects=[f"benchrt.{int(rate)}.>"]))
    sub = await js.pull_subscribe(f"benchrt.{int(rate)}.>", durable=f"rt{int(rate)}", stream=stream)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    total = int(rate * duration)
    payload = os.urandom(size)
    done = asyncio.Event()

    async def consume() -> None:
        while len(latencies) < total:
            try:
                msgs = await sub.fetch(200, timeout=0.05)
            except nats.errors.TimeoutError:
                continue
            now = time.perf_counter()
            for msg in msgs:
                latencies.append(now - sent[msg.subject])
                await msg.ack()
        done.set()

    consumer = asyncio.create_task(consume())
    begin = time.perf_counter()
    publishes = []
    for i in range(total):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        subject = f"benchrt.{int(rate)}.{i}"
        sent[subject] = time.perf_counter()
        publishes.append(asyncio.create_task(js.publish(subject, payload, stream=stream)))
    await asyncio.gather(*publishes)
    await asyncio.wait_for(done.wait(), timeout=60)
    await consumer
    await js.delete_stream(stream)
    await nc.close()
    return latency_ms(latencies)


async def nats_replay(nats_url: str, stream: str, subject: str) -> dict[str, Any]:
    """Read the whole stream with a fresh pull consumer in big batches, acknowledging none."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    total = info.state.messages
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, filter_subject=subject
    )
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    seen = 0
    began = time.perf_counter()
    while seen < total:
        try:
            # The first fetch waits longer: at 1 M dossiers (a 4 M-message stream) it timed out
            # at 1 s before any message came, and the reference read as 0/s.
            msgs = await sub.fetch(1000, timeout=1.0 if seen else 30.0)
        except nats.errors.TimeoutError:
            break
        seen += len(msgs)
    elapsed = time.perf_counter() - began
    await sub.unsubscribe()
    await nc.close()
    return {"events": seen, "seconds": round(elapsed, 2), "per_s": round(seen / elapsed, 1)}


async def pg_read(database_url: str, tables: list[str]) -> dict[str, Any]:
    """Every stored event row, in notification order, through a server-side cursor."""
    conn = await asyncpg.connect(database_url)
    seen = 0
    began = time.perf_counter()
    async with conn.transaction():
        for table in tables:
            async for _ in conn.cursor(f"SELECT * FROM {table} ORDER BY notification_id", prefetch=5000):
                seen += 1
    elapsed = time.perf_counter() - began
    await conn.close()
    return {"events": seen, "seconds": round(elapsed, 2), "per_s": round(seen / elapsed, 1)}


async def pk_select(database_url: str, ids: list[uuid.UUID]) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    latencies: list[float] = []
    for dossier_id in ids:
        started = time.perf_counter()
        await conn.fetchrow("SELECT * FROM scoring.dossier_facts WHERE dossier_id = $1", dossier_id)
        latencies.append(time.perf_counter() - started)
    await conn.close()
    return latency_ms(latencies)
