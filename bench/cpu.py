"""CPU time per dossier, per process group: a figure the box's other tenants hardly move.

Throughput on a shared two-core machine says as much about the neighbours as about us; the
CPU seconds each of our processes spent on a known number of dossiers do not depend on who
else was running. Read from ``/proc`` (Linux), for the four services, PostgreSQL (every
backend) and NATS when the bench started them, and the load generator.
"""

from __future__ import annotations

import json
import os
import resource
from collections import defaultdict
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _descendants(root: int) -> dict[int, tuple[str, float]]:
    table = {
        int(p.name): s for p in Path("/proc").iterdir() if p.name.isdigit() and (s := _stat(int(p.name)))
    }
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (_, parent, _) in table.items():
        children[parent].append(pid)
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = (table[child][0], table[child][2])
            todo.append(child)
    return found


def server_pids(data_dir: Path | None) -> dict[str, int]:
    """PostgreSQL's postmaster and nats-server, when the bench started them (``servers.json``).

    PostgreSQL runs as its own user and is not our descendant; servers given by URL are not
    ours to measure and are left out.
    """
    state = data_dir / "servers.json" if data_dir else None
    if state is None or not state.exists():
        return {}
    recorded = json.loads(state.read_text())
    return {
        name: int(recorded[key]["pid"])
        for name, key in (("postgres", "postgres"), ("nats", "nats"))
        if isinstance(recorded.get(key), dict) and recorded[key].get("pid")
    }


def snapshot(services: dict[str, int], servers: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far: each service, each server with all its processes, and the children
    that exited (the load generator)."""
    seconds: dict[str, float] = {}
    for name, pid in services.items():
        stat = _stat(pid)
        seconds[name] = stat[2] if stat else 0.0
    for name, pid in servers.items():
        own = _stat(pid)
        seconds[name] = (own[2] if own else 0.0) + sum(cpu for _, cpu in _descendants(pid).values())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds["load generator"] = children.ru_utime + children.ru_stime  # the only child that exits
    return seconds


def per_item_ms(before: dict[str, float], after: dict[str, float], items: int) -> dict[str, float]:
    """Milliseconds of CPU per item between two snapshots, and their total."""
    if items <= 0:
        return {}
    spent = {k: round(1000 * (after.get(k, 0.0) - before.get(k, 0.0)) / items, 3) for k in after}
    spent["total"] = round(sum(spent.values()), 3)
    return spent
