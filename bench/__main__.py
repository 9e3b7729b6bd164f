"""``python -m bench [--dossiers N]``: the whole benchmark in one run (``make bench``).

Writes ``bench/results/<date>.json`` and ``bench/results/<date>.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import cpu, phases, pii_cost, token_cost
from bench import references as ref
from bench.bulk import BulkLoader
from bench.intake_bench import end_to_end, intake_run
from bench.report import markdown
from bench.stack import ROOT, running_stack


async def run(args: argparse.Namespace, stack: Any) -> dict[str, Any]:
    results: dict[str, Any] = {"config": vars(args) | {"output": str(args.output)}}
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=4)
    async with httpx.AsyncClient() as client:
        procedures = (await client.get(f"{stack.url('intake')}/procedures")).json()

    print("intake: closed-loop HTTP load and references", flush=True)
    size = 0
    intake = []
    # Not measured: first requests pay one-time costs (lazy imports, the holiday tables,
    # connection pools filling) that no later request pays.
    await intake_run(stack, pool, 4, 3)
    for clients in args.clients:
        await phases.drain(stack, pool)
        servers = cpu.server_pids(stack.servers.data_dir)
        before = cpu.snapshot(stack.pids(), servers)
        row = await intake_run(stack, pool, clients, args.intake_seconds)
        # Downstream work (processing, postal, scoring) belongs to the same dossiers.
        await phases.drain(stack, pool)
        row["cpu_ms_per_dossier"] = cpu.per_item_ms(
            before, cpu.snapshot(stack.pids(), servers), row["dossiers"]
        )
        size = size or int(await pool.fetchval("SELECT avg(length(state))::int FROM intake.intake_events"))
        row["raw_asyncpg"] = await ref.raw_inserts(stack.database_url, clients, args.ref_seconds, size)
        row["eventsourcing_default"] = await asyncio.to_thread(
            ref.eventsourcing_saves, stack.database_url, clients, args.ref_seconds
        )
        intake.append(row)
        print(
            f"  {clients:>3} clients: {row['per_s']}/s p99 {row['p99_ms']} ms;"
            f" CPU ms per dossier {row['cpu_ms_per_dossier']}",
            flush=True,
        )
    results["intake"] = {"event_bytes": size, "runs": intake}
    results["memory_peak_rss_mb"] = phases.peak_rss_mb(stack.pids())

    print("end to end: open-loop load, intake commit -> scoring", flush=True)
    e2e = []
    for rate in args.rates:
        await phases.drain(stack, pool)
        row = await end_to_end(stack, pool, rate, args.e2e_seconds)
        row["jetstream_round_trip"] = await ref.jetstream_round_trip(stack.nats_url, rate, 5, size)
        e2e.append(row)
        print(f"  {rate}/s offered: p99 {row['p99_ms']} ms", flush=True)
    results["end_to_end"] = e2e

    loader = BulkLoader(stack.database_url, procedures, stack.env)
    stages = []
    try:
        loaded = 0
        all_codes: list[str] = []
        for target in args.stages:
            print(f"bulk load to {target} dossiers", flush=True)
            began = time.perf_counter()
            write = await loader.dossiers(pool, target - loaded)
            loaded = target
            await phases.drain(stack, pool)
            work = await asyncio.to_thread(loader.officers_work, loader.received)
            all_codes += loader.received
            loader.received = []  # the next stage works only its own new dossiers
            await phases.drain(stack, pool)
            events = await phases.stored_events(pool)
            stage: dict[str, Any] = {
                "dossiers": target,
                "events": events,
                "load_seconds": round(time.perf_counter() - began, 1),
                "write": write,
                "officers": work,
            }
            departments = sorted({p["department"] for p in procedures})
            print(f"  {events} events stored; queries", flush=True)
            stage["queries"] = await asyncio.to_thread(
                phases.queries, stack, all_codes, departments, args.query_samples
            )
            # Each service's peak so far: the relays and consumers have handled the stage by now.
            stage["memory_peak_rss_mb"] = phases.peak_rss_mb(stack.pids())
            print("  replay", flush=True)
            stage["replay"] = await phases.replay(stack, pool)
            print("  verify", flush=True)
            stage["verify"] = await phases.verify(stack)
            stages.append(stage)
    finally:
        loader.close()
    results["stages"] = stages
    await pool.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 200, 500])
    parser.add_argument(
        "--stages",
        type=int,
        nargs="+",
        default=[10_000, 20_000],
        help="dossiers stored at each measuring point (~3.5 events each)",
    )
    parser.add_argument("--intake-seconds", type=float, default=15)
    parser.add_argument("--ref-seconds", type=float, default=6)
    parser.add_argument("--e2e-seconds", type=float, default=10)
    parser.add_argument("--query-samples", type=int, default=300)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / ".data" / "bench",
        help="where its own servers keep their data",
    )
    args = parser.parse_args()
    began = time.perf_counter()
    started = datetime.now(UTC)
    # resolved: the identity's JWKS is handed to the services as a file:// URL (absolute only)
    with running_stack(args.data_dir.resolve()) as stack:
        results = asyncio.run(run(args, stack))
    # In process, after the stack stopped: CPU per call does not depend on what else runs.
    results["token_check"] = token_cost.measure()
    results["encryption_us"] = {k: round(v, 1) for k, v in pii_cost.per_dossier_us(5_000).items()}
    results["machine"] = machine()
    results["started"] = started.isoformat()
    results["wall_seconds"] = round(time.perf_counter() - began, 1)
    args.output.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%d-%H%M")
    (args.output / f"{stem}.json").write_text(json.dumps(results, indent=2, default=str))
    (args.output / f"{stem}.md").write_text(markdown(results))
    print(markdown(results))
    print(f"written to {args.output / stem}.json and .md in {results['wall_seconds']} s")


def machine() -> dict[str, Any]:
    import os
    import platform

    lines = Path("/proc/meminfo").read_text().splitlines()
    memory = next(line for line in lines if line.startswith("MemTotal"))
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "mem_total": memory.split(":")[1].strip(),
        "python": platform.python_version(),
        "load_avg_at_end": [round(x, 2) for x in load],
    }


if __name__ == "__main__":
    main()
