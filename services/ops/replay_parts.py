"""Projecting the whole log in worker processes, one share of the dossiers each.

Translating the stores' events (the processing translator reads the legal clock at every
step) and folding dossiers is CPU work in Python, so it is split across processes rather than
threads: each worker reads the rows of the dossiers of its part (``partition_of``) from every
store (``ServiceLog.partition``).
``motcua replay scoring`` (``replay``): each worker loads its own events and facts into a staging
schema with COPY and sends back only counts and its figure sums; the staged tables then replace
scoring's in one transaction. ``motcua verify`` (``verify``): each compares its own dossiers with
scoring's live rows and sends back the differences, counts and figure sums. Either way a share
too big for memory is folded bucket by bucket, so neither holds the whole log at once.

Workers report how far they are through a queue the parent drains (``Tick``), so the operator
sees real counts: stored events read and dossiers folded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import multiprocessing
import os
import pickle
import queue
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from datetime import UTC, datetime
from functools import partial
from multiprocessing.queues import Queue
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar, cast
from uuid import UUID

import asyncpg
import psycopg

from services.ops.event_log import STORE_TABLES, ServiceLog, open_logs
from services.scoring.rebuild import (
    Projection,
    Share,
    drop_staging,
    index_staging,
    prepare_staging,
    staging_name,
    swap_in,
    write_share,
)
from services.scoring.verify import Audit, Cut, Difference, applied_only, audit_share, compare_whole
from shared.contracts import AnyEvent

READ = "reading the event stores"
FOLD = "folding dossiers"
# ("read", n) n more stored rows read; ("dossiers", n) n more dossiers to fold; ("fold", n) folded.
Tick = tuple[Literal["read", "dossiers", "fold"], int]
Report = Callable[[Tick], None]

_worker_queue: Queue[Tick] | None = None
# What an audit folds of a share's contracts (``audit_part``); a replay folds them all.
Keep = Callable[[list[AnyEvent]], list[AnyEvent]]
_Result = TypeVar("_Result")

# A replay worker folds at most about this many events at once. A share of the log beyond it is
# written to files in buckets of dossiers as it is read, and folded and loaded bucket by bucket:
# a worker holds every contract it folds (~8 KB each in memory), so 1 M dossiers (~4.5 M events)
# in two shares would need ~36 GB at once.
EVENTS_IN_MEMORY = 300_000


def buckets_for(stored: int, parts: int) -> int:
    """How many buckets each of ``parts`` workers folds a log of ``stored`` events in."""
    return max(1, math.ceil(stored / parts / EVENTS_IN_MEMORY))


def default_parts() -> int:
    # More parts than cores only adds the cost of each worker reading every store.
    return max(1, min(2, os.cpu_count() or 1))


def stored_events(database_url: str) -> int:
    """How many rows the stores hold: what the workers read between them (each row by one).
    Counted on one connection, without building the services' applications; a store whose
    table is not made yet holds none."""
    with psycopg.connect(database_url) as conn:
        total = 0
        for table in STORE_TABLES.values():
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,):
                total += conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        return total


def _projections(
    database_url: str,
    part: int,
    parts: int,
    buckets: int,
    *,
    create: bool,
    tell: Report,
    audit: bool,
    cut: Cut | None = None,
    keep: Keep | None = None,
) -> Iterator[Projection]:
    """The projection of the part's dossiers, or with ``buckets`` > 1 one per bucket of them: the
    part's stored rows read once, spilled to files by bucket as they are (raw), and each bucket
    translated and folded on its own (the caller lets go of each before asking for the next).
    An audit reads the stores at its ``cut`` and folds what ``keep`` keeps of each share."""
    snapshot = None if cut is None else cut.snapshot
    if buckets == 1:
        yield _project_part(
            database_url, part, parts, create=create, tell=tell, audit=audit, snapshot=snapshot, keep=keep
        )
        return
    logs = open_logs(database_url, create=create)
    try:
        with tempfile.TemporaryDirectory(prefix="motcua-replay-") as folder:
            for path in _spill(logs, part, parts, buckets, Path(folder), tell=tell, snapshot=snapshot):
                contracts = _unspill(path, logs)
                projection = Projection.of(
                    contracts if keep is None else keep(list(contracts)),
                    on_dossiers=lambda n: tell(("dossiers", n)),
                    on_folded=lambda n: tell(("fold", n)),
                    audit=audit,
                )
                path.unlink()  # the disk a bucket took is free before the next is folded
                yield projection
                del projection  # not held while the next bucket is folded
    finally:
        for log in logs:
            log.close()


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while a part is read and folded.

    A part keeps every contract it reads until it has folded them: hundreds of thousands of
    live objects that each collection of the oldest generation walks again, for nothing (the
    contracts hold no cycles; reference counting frees what the replay drops). Measured on
    63k events, one worker: 140 µs of CPU per stored row with the collector, 89 without.
    Scoring's HTTP replay runs a part in a thread of the service: the whole process then goes
    without cycle collection until the part is done (the collector is process-wide).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _project_part(
    database_url: str,
    part: int,
    parts: int,
    *,
    create: bool,
    tell: Report,
    audit: bool,
    snapshot: str | None,
    keep: Keep | None,
) -> Projection:
    logs = open_logs(database_url, create=create)
    try:
        contracts: list[AnyEvent] = []
        for log in logs:
            for batch in log.partition(part, parts, on_rows=lambda n: tell(("read", n)), snapshot=snapshot):
                contracts.extend(batch)
    finally:
        for log in logs:
            log.close()
    return Projection.of(
        contracts if keep is None else keep(contracts),
        on_dossiers=lambda n: tell(("dossiers", n)),
        on_folded=lambda n: tell(("fold", n)),
        audit=audit,
    )


def _on_connection(database_url: str, step: Callable[[asyncpg.Connection], Awaitable[_Result]]) -> _Result:
    """Runs ``step`` on a connection of its own, closed afterwards (each step of a replay or
    an audit, in the parent or a worker, runs in an event loop of its own)."""

    async def run() -> _Result:
        conn = await asyncpg.connect(database_url)
        try:
            return await step(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def write_part(
    database_url: str,
    part: int,
    parts: int,
    staging: str,
    *,
    create: bool = True,
    report: Report | None = None,
    buckets: int = 1,
) -> Share:
    """The part's dossiers loaded into the staging tables from this process, bucket by bucket
    (``_projections``): only the counts and the figure sums go back to the parent, never the
    rows."""

    tell = report or (lambda _tick: None)
    share = Share(0, 0, {})
    with _no_cycle_collection():  # the rows for COPY are as many short-lived objects again
        for projection in _projections(
            database_url, part, parts, buckets, create=create, tell=tell, audit=False
        ):
            share.merge(
                _on_connection(database_url, partial(write_share, projection=projection, staging=staging))
            )
            del projection
    return share


def audit_part(
    database_url: str,
    part: int,
    parts: int,
    *,
    create: bool = True,
    report: Report | None = None,
    buckets: int = 1,
    cut: Cut | None = None,
) -> Audit:
    """The part's dossiers folded with the legal clock run again (the audit) and compared with
    scoring's live rows, bucket by bucket, all read at ``cut``: the differences, counts and
    figure sums go back to the parent, never the projection. Events scoring had not applied at
    the cut, recorded shortly before it, are in flight: counted, not folded (``applied_only``)."""

    tell = report or (lambda _tick: None)
    audit = Audit()

    def keep(events: list[AnyEvent]) -> list[AnyEvent]:
        kept, in_flight = _on_connection(database_url, lambda conn: applied_only(conn, events, cut))
        audit.in_flight += in_flight
        return kept

    with _no_cycle_collection():
        for projection in _projections(
            database_url, part, parts, buckets, create=create, tell=tell, audit=True, cut=cut, keep=keep
        ):
            audit.merge(_on_connection(database_url, partial(audit_share, projection=projection, cut=cut)))
            del projection
    return audit


def _bucket_of(dossier: UUID | None, parts: int, buckets: int) -> int:
    # Above the bits ``partition_of`` used, so a part's dossiers spread over its buckets; all of
    # a dossier's rows in one bucket, as folding needs. An aggregate of no dossier: the first.
    if dossier is None:
        return 0
    return dossier.int // parts % buckets


# A spilled row: the stored row's fields (the aggregate id as bytes); a pickled batch of them is
# one log's, named by its place in the list of logs.
_Spilled = tuple[int, bytes, int, str, bytes]


def _spill(
    logs: list[ServiceLog],
    part: int,
    parts: int,
    buckets: int,
    folder: Path,
    *,
    tell: Report,
    snapshot: str | None = None,
) -> list[Path]:
    """Reads the part's stored rows once, into one file per bucket of dossiers, as they are:
    the rows' bytes pickle at the speed of a copy, where contracts cost ~27 µs each to pickle
    and load again (a log past ``EVENTS_IN_MEMORY`` per worker spills every row). Written and
    read back by this process only, in its own private temporary folder."""
    paths = [folder / f"bucket-{n}.pickle" for n in range(buckets)]
    files: list[BinaryIO] = [path.open("wb") for path in paths]
    try:
        for index, log in enumerate(logs):
            batches = log.rows(
                part, parts, on_rows=lambda n: tell(("read", n)), with_dossiers=True, snapshot=snapshot
            )
            for batch in batches:
                sorted_out: list[list[_Spilled]] = [[] for _ in range(buckets)]
                for (notification_id, originator_id, version, topic, state), dossier in batch:
                    spilled = (notification_id, originator_id.bytes, version, topic, bytes(state))
                    sorted_out[_bucket_of(dossier, parts, buckets)].append(spilled)
                for file, rows in zip(files, sorted_out, strict=True):
                    if rows:
                        pickle.dump((index, rows), file, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for file in files:
            file.close()
    return paths


def _unspill(path: Path, logs: list[ServiceLog]) -> Iterator[AnyEvent]:
    """A bucket's contracts: its rows, in the order they were read, each batch translated by its
    own log (an aggregate's rows all in this bucket, in their order, as readers need)."""
    with path.open("rb") as file:
        while True:
            try:
                index, spilled = pickle.load(file)  # noqa: S301  # this process's own file, see _spill
            except EOFError:
                return
            yield from logs[index].contracts((n, UUID(bytes=o), v, t, d) for n, o, v, t, d in spilled)


def replay(
    database_url: str,
    parts: int | None = None,
    report: Report | None = None,
    *,
    buckets: int | None = None,
    before_swap: Callable[[Share], None] | None = None,
) -> Share:
    """Rebuilds scoring's tables from every store: each of ``parts`` processes loads its own
    dossiers into staging tables, which then replace scoring's in one transaction. ``buckets``
    (by default as many as keep a worker under ``EVENTS_IN_MEMORY``): see ``write_part``.
    ``before_swap`` hears what was staged just before that transaction (a progress report)."""

    began = datetime.now(UTC)  # what the log gains from here may be missed by the workers: swap_in
    parts = parts or default_parts()
    buckets = buckets or buckets_for(stored_events(database_url), parts)
    staging = staging_name()
    indexes = _on_connection(database_url, lambda conn: prepare_staging(conn, staging))
    try:
        if parts == 1:
            share = write_part(database_url, 0, 1, staging, report=report, buckets=buckets)
        else:
            shares = cast(
                list[Share], _in_workers(database_url, parts, report, staging=staging, buckets=buckets)
            )
            share = shares[0]
            for other in shares[1:]:
                share.merge(other)
        _on_connection(database_url, lambda conn: index_staging(conn, indexes))
        if before_swap is not None:
            before_swap(share)
        share.late = _on_connection(database_url, lambda conn: swap_in(conn, share, staging, began))
    finally:
        _on_connection(database_url, lambda conn: drop_staging(conn, staging))
    return share


def verify(
    database_url: str, parts: int | None = None, report: Report | None = None, *, buckets: int | None = None
) -> tuple[Audit, list[Difference]]:
    """``motcua verify``: every dossier of the log folded again with the legal clock (in ``parts``
    processes, each in ``buckets`` as a replay) and compared with scoring's live tables, all read
    at one instant (``Cut``). Returns what was audited and every difference found
    (``Audit.kept`` of them listed)."""
    parts = parts or default_parts()
    buckets = buckets or buckets_for(stored_events(database_url), parts)

    def audited(cut: Cut) -> Audit:
        if parts == 1:
            return audit_part(database_url, 0, 1, report=report, buckets=buckets, cut=cut)
        audits = cast(
            list[Audit], _in_workers(database_url, parts, report, audit=True, buckets=buckets, cut=cut)
        )
        for other in audits[1:]:
            audits[0].merge(other)
        return audits[0]

    return _at_one_cut(database_url, audited)


def _at_one_cut(database_url: str, audited: Callable[[Cut], Audit]) -> tuple[Audit, list[Difference]]:
    """Runs the audit at a cut exported by a transaction held open until it is done."""
    with psycopg.connect(database_url) as holder:
        holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        holder.read_only = True
        exported = holder.execute("SELECT pg_export_snapshot(), now()").fetchone()
        assert exported is not None
        cut = Cut(*exported)
        audit = audited(cut)
        return audit, _on_connection(database_url, lambda conn: compare_whole(conn, audit, cut))


def _in_workers(
    database_url: str,
    parts: int,
    report: Report | None,
    *,
    audit: bool = False,
    staging: str | None = None,
    buckets: int = 1,
    cut: Cut | None = None,
) -> list[Audit | Share]:
    """Each part in a worker process: loaded into the ``staging`` tables, or (``audit``) checked
    against scoring's live tables."""
    for log in open_logs(database_url):  # schemas and tables made once, before the workers
        log.close()
    # fork: a spawned worker would first spend about a second importing the services again.
    # The parent uses no connection while they run; an audit's holds its cut open (``_at_one_cut``),
    # and the children never touch their copy of it (they leave by os._exit, closing nothing).
    context = multiprocessing.get_context("fork")
    ticks: Queue[Tick] = context.Queue()
    with ProcessPoolExecutor(
        max_workers=parts, mp_context=context, initializer=_adopt_queue, initargs=(ticks,)
    ) as pool:
        futures = [
            pool.submit(_worker, (database_url, part, parts, audit, staging, buckets, cut))
            for part in range(parts)
        ]
        pending = set(futures)
        while pending:
            _drain(ticks, report)
            _, pending = wait(pending, timeout=0.1)
        shares = [f.result() for f in futures]
    _drain(ticks, report)  # the workers have exited: whatever they sent last has arrived
    return shares


def _drain(ticks: Queue[Tick], report: Report | None) -> None:
    while True:
        try:
            tick = ticks.get_nowait()
        except queue.Empty:
            return
        if report is not None:
            report(tick)


def _adopt_queue(ticks: Queue[Tick]) -> None:
    global _worker_queue
    _worker_queue = ticks


def _worker(job: tuple[str, int, int, bool, str | None, int, Cut | None]) -> Audit | Share:
    database_url, part, parts, audit, staging, buckets, cut = job
    sink = _worker_queue
    report = sink.put if sink else None
    if audit:
        return audit_part(database_url, part, parts, create=False, report=report, buckets=buckets, cut=cut)
    assert staging is not None  # a replay's workers load into its staging tables
    return write_part(database_url, part, parts, staging, create=False, report=report, buckets=buckets)
