"""Projecting the whole log in worker processes, one share of the dossiers each.

Translating the stores' events (the processing translator reads the legal clock at every
step) and folding dossiers is CPU work in Python, so it is split across processes rather than
threads: each worker reads every store, keeps the dossiers of its part (``partition_of``),
and sends back only its projection (table rows, facts, figure sums), never the contracts.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from services.ops.event_log import open_logs
from services.scoring.rebuild import Projection


def default_parts() -> int:
    # More parts than cores only adds the cost of each worker reading every store.
    return max(1, min(2, os.cpu_count() or 1))


def project_part(database_url: str, part: int, parts: int, *, create: bool = True) -> Projection:
    logs = open_logs(database_url, create=create)
    try:
        contracts = [c for log in logs for batch in log.partition(part, parts) for c in batch]
    finally:
        for log in logs:
            log.close()
    return Projection.of(contracts)


def project(database_url: str, parts: int | None = None) -> Projection:
    """Scoring's projection of every store, computed in ``parts`` processes."""
    parts = parts or default_parts()
    if parts == 1:
        return project_part(database_url, 0, 1)
    for log in open_logs(database_url):  # schemas and tables made once, before the workers
        log.close()
    # fork: a spawned worker would first spend about a second importing the services again.
    # The parent holds no connection at this point, so nothing is shared by the children.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=parts, mp_context=context) as pool:
        shares = list(pool.map(_worker, [(database_url, part, parts) for part in range(parts)]))
    projection = shares[0]
    for share in shares[1:]:
        projection.merge(share)
    return projection


def _worker(job: tuple[str, int, int]) -> Projection:
    database_url, part, parts = job
    return project_part(database_url, part, parts, create=False)
