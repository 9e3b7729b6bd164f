"""``python -m bench.replay_only``: time ``motcua replay scoring`` on a database already loaded.

For quick A/B comparisons of the replay alone: load a data set once (e.g. a short
``python -m bench`` run against ``DATABASE_URL``), then run this as often as needed. Each
round runs the real command in a subprocess, as ``make bench`` does, and the raw asyncpg read
of the same event rows beside it. ``--dump DIR`` writes scoring's tables after the last round
(sorted, one text file per table) so two versions of the replay can be compared with ``diff``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

from bench import references as ref
from bench.phases import EVENT_TABLES
from bench.stack import ROOT

TABLES = {
    "events": "SELECT event_id, dossier_id, event_type, occurred_at, recorded_at, payload FROM scoring.events"
    " ORDER BY event_id",
    "dossier_facts": "SELECT * FROM scoring.dossier_facts ORDER BY dossier_id",
    "figures": "SELECT * FROM scoring.figures"
    " ORDER BY dimension, period_kind, period_start, unit, procedure_code",
    "processed_events": "SELECT * FROM scoring.processed_events ORDER BY consumer, event_id",
}


def replay_once(database_url: str, command: str) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the command and its worker processes (not PostgreSQL's):
    on a shared machine the CPU moves far less with the neighbours than the wall time."""
    cpu = _children_cpu()
    began = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter and command
        [
            sys.executable,
            "-c",
            "from services.ops.cli import main; main()",
            command,
            *(["scoring"] if command == "replay" else []),
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - began, _children_cpu() - cpu


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


async def stored(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return sum([int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in EVENT_TABLES])
    finally:
        await conn.close()


async def dump(database_url: str, into: Path) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for name, query in TABLES.items():
            rows = await conn.fetch(query)
            (into / f"{name}.txt").write_text("".join(f"{tuple(r.values())!r}\n" for r in rows))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dump", type=Path, help="write scoring's tables here after the last round")
    parser.add_argument("--verify", action="store_true", help="run `motcua verify` after the last round")
    args = parser.parse_args()
    database_url = os.environ["DATABASE_URL"]
    events = asyncio.run(stored(database_url))
    for n in range(args.rounds):
        seconds, cpu = replay_once(database_url, "replay")
        print(
            f"round {n + 1}: {events} events in {seconds:.2f} s = {events / seconds:,.0f} events/s;"
            f" CPU {cpu:.2f} s = {cpu / events * 1e6:.0f} µs per event",
            flush=True,
        )
    raw = asyncio.run(ref.pg_read(database_url, EVENT_TABLES))
    print(f"raw asyncpg read of the same rows: {raw['per_s']:,.0f} events/s", flush=True)
    if args.verify:
        seconds, _ = replay_once(database_url, "verify")
        print(f"verify: 0 differences ({seconds:.2f} s)")
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        asyncio.run(dump(database_url, args.dump))
        print(f"tables written to {args.dump}")


if __name__ == "__main__":
    main()
