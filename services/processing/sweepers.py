"""The sweepers: they record a dossier overdue once its appointment has passed unresolved, and
close one whose citizen did not supplement within the limit, as the clock's actor. They find
candidates in the work queues' read model and only propose: the case's rules decide."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from services.processing.application import ProcessingApplication
from services.processing.domain import Case
from services.processing.values import StepMeta
from shared.signals.metrics import clock_sweep

log = logging.getLogger(__name__)


SYSTEM_ACTOR = {"user_id": "system.clock", "role": "system", "agency": "TTHCC", "channel": 1}


def system_step(command: str) -> Callable[[Case], None]:
    """A step the system takes on its own, now, as the clock's actor."""

    def step(case: Case) -> None:
        getattr(case, command)(StepMeta(occurred_at=datetime.now(UTC), actor=SYSTEM_ACTOR))

    return step


async def sweep_overdue(pool: asyncpg.Pool, app: ProcessingApplication) -> int:
    """Records each newly overdue dossier once (MarkedOverdue); returns how many it marked."""
    rows = await pool.fetch(
        "SELECT dossier_code FROM processing.case_queue"
        " WHERE state = 'in_processing' AND NOT overdue_marked AND due_at < now() LIMIT 500"
    )
    # Resolved, paused or re-appointed meanwhile: the case refuses and the queue will catch up.
    marked = await asyncio.to_thread(
        app.act_on_each, [row["dossier_code"] for row in rows], system_step("mark_overdue")
    )
    return len(marked)


async def sweep_unsupplemented(pool: asyncpg.Pool, app: ProcessingApplication) -> int:
    """Closes dossiers whose citizen has not supplemented within the limit (15 working days).

    15 working days never take fewer than 20 calendar days, so younger requests are not even
    proposed; the case counts the working days itself.
    """
    now = datetime.now(UTC)
    rows = await pool.fetch(
        "SELECT dossier_code, paused_since FROM processing.case_queue"
        " WHERE state = 'awaiting_supplement' AND paused_since < $1::timestamptz - interval '20 days'"
        " LIMIT 500",
        now,
    )
    # The working-day count (holidays) may still say not yet: the case decides.
    closed = await asyncio.to_thread(
        app.act_on_each, [row["dossier_code"] for row in rows], system_step("close_for_no_supplement")
    )
    return len(closed)


async def run_overdue_sweeper(
    pool: asyncpg.Pool, app: ProcessingApplication, stop: asyncio.Event, every_s: float = 30.0
) -> None:
    while not stop.is_set():
        try:
            with clock_sweep("processing", "overdue") as report:
                report(await sweep_overdue(pool, app))
            with clock_sweep("processing", "unsupplemented") as report:
                report(await sweep_unsupplemented(pool, app))
        except Exception:
            log.exception("overdue sweep failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every_s)
        except TimeoutError:
            continue
