"""Intake under closed-loop load, and end to end (intake commit -> visible in scoring) under open load."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.identity import DESK_USER
from bench.loadgen import TOKEN_ENV
from bench.stack import ROOT, Stack
from bench.stats import latency_ms
from services.intake.domain import dossier_id_for


async def _loadgen(stack: Stack, args: list[str], on_line: Any = None) -> dict[str, Any]:
    """Runs ``bench.loadgen`` as a child process, signed in as the centre's front-desk officer;
    streams its lines to ``on_line``; returns its summary."""
    env = {**os.environ, TOKEN_ENV: stack.token(DESK_USER)}
    with tempfile.TemporaryDirectory(prefix="motcua-loadgen-") as folder:
        summary_file = Path(folder) / "summary.json"
        await _run_loadgen([*args, "--summary", str(summary_file)], env, on_line)
        return dict(json.loads(summary_file.read_text(encoding="utf-8")))


async def _run_loadgen(args: list[str], env: dict[str, str], on_line: Any) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        limit=2**24,
    )
    assert process.stdout is not None
    async for raw in process.stdout:
        line = raw.decode().strip()
        if line and on_line is not None:
            on_line(line)
    if await process.wait() != 0:
        raise RuntimeError(f"loadgen {args} failed")


async def published_position(pool: asyncpg.Pool) -> tuple[int, int]:
    """(last committed notification id, relay position) of intake."""
    last = await pool.fetchval("SELECT coalesce(max(notification_id), 0) FROM intake.intake_events")
    position = await pool.fetchval("SELECT coalesce(max(position), 0) FROM intake.relay_position")
    return int(last), int(position)


async def wait_published(pool: asyncpg.Pool, timeout: float = 300.0) -> float:
    """Waits until the relay has published everything committed so far; returns when (unix time)."""
    target, _ = await published_position(pool)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, position = await published_position(pool)
        if position >= target:
            return time.time()
        await asyncio.sleep(0.01)
    raise RuntimeError("intake relay did not catch up")


async def intake_run(stack: Stack, pool: asyncpg.Pool, concurrency: int, duration: float) -> dict[str, Any]:
    summary = await _loadgen(
        stack,
        [
            "closed",
            "--url",
            stack.url("intake"),
            "--concurrency",
            str(concurrency),
            "--duration",
            str(duration),
            "--tag",
            f"c{concurrency}-{time.time_ns()}",
        ],
    )
    published_at = await wait_published(pool)
    n = len(summary["latencies"])
    if n == 0:
        raise RuntimeError(f"intake accepted no dossier: {summary['errors']}")
    return {
        "clients": concurrency,
        "dossiers": n,
        "per_s": round(n / (published_at - summary["started"]), 1),
        "http_per_s": round(n / (summary["ended"] - summary["started"]), 1),
        "publish_lag_s": round(published_at - summary["ended"], 3),
        "errors": summary["errors"],
        **latency_ms(summary["latencies"]),
    }


async def end_to_end(stack: Stack, pool: asyncpg.Pool, rate: float, duration: float) -> dict[str, Any]:
    """Offered load at ``rate``/s; each dossier timed from intake's answer to its row in scoring."""
    committed: dict[str, float] = {}  # dossier id -> unix time intake answered
    seen: dict[str, float] = {}
    finished = asyncio.Event()

    def on_line(line: str) -> None:
        code, at = line.split()
        committed[str(dossier_id_for(code))] = float(at)

    async def poll() -> None:
        # A primary-key probe every 5 ms for the dossiers not seen yet.
        while not (finished.is_set() and len(seen) >= len(committed)):
            waiting = [i for i in committed if i not in seen]
            if waiting:
                rows = await pool.fetch(
                    "SELECT dossier_id::text AS id FROM scoring.dossier_facts"
                    " WHERE dossier_id = ANY($1::uuid[])",
                    waiting,
                )
                now = time.time()
                for row in rows:
                    seen[row["id"]] = now
            await asyncio.sleep(0.005)

    poller = asyncio.create_task(poll())
    summary = await _loadgen(
        stack,
        [
            "open",
            "--url",
            stack.url("intake"),
            "--rate",
            str(rate),
            "--duration",
            str(duration),
            "--tag",
            f"e2e{int(rate)}-{time.time_ns()}",
        ],
        on_line,
    )
    finished.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poller, timeout=120)
    visible = [seen[i] - committed[i] for i in committed if i in seen]
    achieved = len(summary["latencies"]) / max(summary["ended"] - summary["started"], 1e-9)
    return {
        "offered_per_s": rate,
        "achieved_per_s": round(achieved, 1),
        "dossiers": len(committed),
        "not_visible": len(committed) - len(visible),
        "errors": summary["errors"],
        "intake": latency_ms(summary["latencies"]),
        **latency_ms(visible),
    }
