"""The slower phases: draining the pipeline, queries, replay, memory."""

from __future__ import annotations

import asyncio
import os
import random
import re
import resource
import subprocess
import sys
import time
from typing import Any

import asyncpg
import httpx
import nats

from bench import references as ref
from bench.identity import AUDITOR_USER
from bench.stack import ROOT, SERVICES, Stack
from bench.stats import latency_ms
from services.intake.domain import dossier_id_for
from shared.eventlog.topology import CONSUMERS, STREAM, SUBJECT_ROOT

RANKING_SAMPLES = 8
EVENT_TABLES = ["intake.intake_events", "processing.processing_events", "postal.postal_events"]


async def drain(stack: Stack, pool: asyncpg.Pool, timeout: float = 1800.0) -> float:
    """Waits until every relay has published everything and every consumer has caught up."""
    began = time.perf_counter()
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream()
    try:
        while time.perf_counter() - began < timeout:
            pending = 0
            for schema in ("intake", "processing", "postal"):
                last = await pool.fetchval(
                    f"SELECT coalesce(max(notification_id), 0) FROM {schema}.{schema}_events"
                )
                position = await pool.fetchval(
                    f"SELECT coalesce(max(position), 0) FROM {schema}.relay_position"
                )
                pending += max(0, int(last) - int(position))
            # Only the consumers of the services the bench runs: the others (payments, notify)
            # have nobody reading them here, and would never drain.
            for spec in CONSUMERS:
                if spec.owner not in SERVICES:
                    continue
                info = await js.consumer_info(STREAM, spec.durable)
                pending += info.num_pending + info.num_ack_pending
            if pending == 0:
                return time.perf_counter() - began
            await asyncio.sleep(0.5)
    finally:
        await nc.close()
    raise RuntimeError("the pipeline did not drain")


async def stored_events(pool: asyncpg.Pool) -> int:
    total = 0
    for table in EVENT_TABLES:
        total += int(await pool.fetchval(f"SELECT count(*) FROM {table}"))
    return total


def queries(stack: Stack, codes: list[str], departments: list[str], samples: int) -> dict[str, Any]:
    rng = random.Random(20)  # noqa: S311 - reproducible sample
    picked = [rng.choice(codes) for _ in range(samples)]
    out: dict[str, Any] = {}
    # The inspector reads any unit's dossiers and reports; the token is checked in every request.
    with httpx.Client(timeout=30.0, headers=stack.auth(AUDITOR_USER)) as client:
        for name, urls in (
            ("history", [f"{stack.url('processing')}/dossiers/{c}/history" for c in picked]),
            ("dashboard", [f"{stack.url('scoring')}/departments/{rng.choice(departments)}" for _ in picked]),
            # The ranking is computed per request over every dossier (seconds each at 20k):
            # a few samples say as much, and keep `make bench` within its 20 minutes.
            ("ranking", [f"{stack.url('scoring')}/ranking" for _ in range(RANKING_SAMPLES)]),
        ):
            latencies, statuses = [], set()
            if client.get(urls[0]).status_code in (401, 403):  # warm-up
                raise RuntimeError(f"{urls[0]}: the auditor's token was refused")
            for url in urls:
                began = time.perf_counter()
                response = client.get(url)
                latencies.append(time.perf_counter() - began)
                statuses.add(response.status_code)
            out[name] = {**latency_ms(latencies), "statuses": sorted(statuses)}
    out["pk_select"] = asyncio.run(ref.pk_select(stack.database_url, [dossier_id_for(c) for c in picked]))
    return out


async def _motcua(stack: Stack, *command: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """The operator's command line on the stack's servers, in a process of its own: its result
    and how long it took."""
    began = time.perf_counter()
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", "from services.ops.cli import main; main()", *command],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": stack.database_url, "NATS_URL": stack.nats_url},
        capture_output=True,
        text=True,
        check=False,
    )
    return done, time.perf_counter() - began


async def replay(stack: Stack, pool: asyncpg.Pool) -> dict[str, Any]:
    """``motcua replay scoring`` timed, beside a raw nats-py read and a raw asyncpg read."""
    events = await stored_events(pool)
    done, seconds = await _motcua(stack, "replay", "scoring")
    result: dict[str, Any] = {
        "events": events,
        "seconds": round(seconds, 2),
        "per_s": round(events / seconds, 1),
        # The largest resident size of any process this one has waited for, the replay's
        # workers included (each waited for by the replay): an upper bound on a worker's peak.
        "children_max_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    if done.returncode != 0:
        result["error"] = (done.stderr or done.stdout)[-500:]
    result["tool"] = "motcua replay scoring (reads the PostgreSQL event stores)"
    result["nats_read"] = await ref.nats_replay(stack.nats_url, STREAM, f"{SUBJECT_ROOT}.>")
    result["pg_read"] = await ref.pg_read(stack.database_url, EVENT_TABLES)
    return result


async def verify(stack: Stack) -> dict[str, Any]:
    """``motcua verify`` (the audit: every dossier folded again with the legal clock and compared
    with scoring's tables) right after the replay: how long, and the differences it found."""
    done, seconds = await _motcua(stack, "verify")
    counted = re.search(r"(\d+) difference", done.stdout)
    result: dict[str, Any] = {
        "seconds": round(seconds, 2),
        "differences": int(counted.group(1)) if counted else None,
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    if done.returncode not in (0, 1) or counted is None:
        result["error"] = (done.stderr or done.stdout)[-500:]
    return result


def peak_rss_mb(pids: dict[str, int]) -> dict[str, float]:
    """VmHWM: the most resident memory each process ever had."""
    out = {}
    for name, pid in pids.items():
        try:
            for line in open(f"/proc/{pid}/status").read().splitlines():  # noqa: SIM115
                if line.startswith("VmHWM:"):
                    out[name] = round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    return out
