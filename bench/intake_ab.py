"""Intake's phase of ``make bench`` alone, for before/after comparisons across worktrees.

The same steps as ``python -m bench``'s intake phase (3 s unmeasured warm-up; per client count:
drain, CPU snapshot, closed-loop run, drain, CPU snapshot), without the references, the end to
end, the bulk load and the queries: ~1.5 min instead of ~7. It uses only what every version of
the bench has (``running_stack``, ``intake_run``, ``drain``, ``cpu``), so it runs against an
older tree too, with that tree's own code and interpreter::

    cd TREE && TREE/.venv/bin/python -c "import runpy; runpy.run_path('bench/intake_ab.py', \\
        run_name='__main__')" --label before

(run from the tree's root, so that ``bench`` and ``services`` are that tree's). Prints one JSON
line per run: dossiers/s, p50/p99, CPU ms per dossier per process and in all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from bench import cpu, phases
from bench.intake_bench import intake_run
from bench.stack import running_stack


async def run(stack: Any, clients: list[int], seconds: float) -> list[dict[str, Any]]:
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=4)
    rows = []
    try:
        await intake_run(stack, pool, 4, 3)  # not measured: lazy imports, pools, holiday tables
        for n in clients:
            await phases.drain(stack, pool)
            servers = cpu.server_pids(stack.servers.data_dir)
            before = cpu.snapshot(stack.pids(), servers)
            row = await intake_run(stack, pool, n, seconds)
            await phases.drain(stack, pool)
            row["cpu_ms_per_dossier"] = cpu.per_item_ms(
                before, cpu.snapshot(stack.pids(), servers), row["dossiers"]
            )
            # the most resident memory each service ever had, up to the end of this run
            row["peak_rss_mb"] = phases.peak_rss_mb(stack.pids())
            rows.append(row)
    finally:
        await pool.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--label", required=True, help="what this tree is (before, after, …)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--data-dir", type=Path, default=Path(".data") / "bench-ab")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - the tree's own git
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    with running_stack(args.data_dir.resolve()) as stack:
        rows = asyncio.run(run(stack, args.clients, args.seconds))
    for row in rows:
        row.pop("latencies", None)
        sys.stdout.write(json.dumps({"label": args.label, "commit": commit, **row}) + "\n")


if __name__ == "__main__":
    main()
