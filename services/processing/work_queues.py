"""Work queues per department: a read model of processing's own events (the ``case_queue``
table, its projection and the queries of each queue). The sweepers read it too (``sweepers``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from shared.contracts import (
    AnyEvent,
    CaseOpened,
    ClosedForNoSupplement,
    DossierDecided,
    LeadershipAcknowledged,
    LeadershipReported,
    MarkedOverdue,
    OfficerAssigned,
    ProcessingStopped,
    ResultReady,
    ResultReturned,
    SupplementReceived,
    SupplementRequested,
)
from shared.contracts.processing import CaseEvent
from shared.eventlog import PoisonMessage

DDL = """
CREATE TABLE IF NOT EXISTS processing.case_queue (
    dossier_code text PRIMARY KEY,
    dossier_id uuid NOT NULL,
    department_code text NOT NULL,
    state text NOT NULL,
    due_at timestamptz NOT NULL,
    officer text,
    pending_leadership boolean NOT NULL DEFAULT false,
    overdue_marked boolean NOT NULL DEFAULT false,
    paused_since timestamptz,
    version integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE processing.case_queue ADD COLUMN IF NOT EXISTS procedure_code text;
CREATE INDEX IF NOT EXISTS case_queue_department ON processing.case_queue (department_code, state, due_at);
"""

ACTIVE = ("in_processing", "awaiting_supplement")
QUEUES = {
    "due-today": "state = 'in_processing' AND due_at >= now()"
    " AND (due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date = (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date",
    "overdue": "state = 'in_processing' AND due_at < now()",
    "awaiting-supplement": "state = 'awaiting_supplement'",
    "awaiting-leadership": "pending_leadership AND state IN ('in_processing', 'awaiting_supplement')",
    "active": "state IN ('in_processing', 'awaiting_supplement')",
    # the caller's own cases, not finished; $3 is the caller's user id
    "mine": "officer = $3 AND state IN ('in_processing', 'awaiting_supplement', 'decided', 'result_ready')",
}
STATE_AFTER: dict[type, str] = {
    CaseOpened: "in_processing",
    SupplementRequested: "awaiting_supplement",
    SupplementReceived: "in_processing",
    ClosedForNoSupplement: "closed",
    DossierDecided: "decided",
    ResultReady: "result_ready",
    ResultReturned: "returned",
    ProcessingStopped: "stopped",
}


def _version(event_id: str) -> int:
    return int(event_id.rsplit(":", 1)[1])


_OPEN = (
    "INSERT INTO processing.case_queue (dossier_code, dossier_id, department_code, state, due_at,"
    " version, procedure_code)"
    " SELECT c, i, d, 'in_processing', due, v, p"
    " FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::int[], $6::text[])"
    " AS o(c, i, d, due, v, p)"
    " ON CONFLICT DO NOTHING"
)


async def queue_openings(conn: asyncpg.Connection, events: list[AnyEvent]) -> list[AnyEvent]:
    """The batch's case openings in one statement; the other events, in order, for
    ``project_case_event``. An opening always precedes its case's steps (the steps are never
    published before it), so putting every opening of the batch in first changes no outcome."""
    openings = [e for e in events if isinstance(e, CaseOpened)]
    if openings:
        await conn.execute(
            _OPEN,
            [e.dossier_code for e in openings],
            [e.dossier_id for e in openings],
            [e.department_code for e in openings],
            [e.due_at for e in openings],
            [_version(e.event_id) for e in openings],
            [e.procedure_code for e in openings],
        )
    return [e for e in events if not isinstance(e, CaseOpened)]


async def project_case_event(conn: asyncpg.Connection, event: AnyEvent) -> None:
    if not isinstance(event, CaseEvent):
        return
    if isinstance(event, CaseOpened):
        await queue_openings(conn, [event])
        return
    version = _version(event.event_id)
    sets = ["department_code = $3", "due_at = $4", "version = $2", "updated_at = now()"]
    args: list[Any] = [event.dossier_code, version, event.department_code, event.due_at]
    state = STATE_AFTER.get(type(event))
    if state is not None:
        args.append(state)
        sets.append(f"state = ${len(args)}")
    if isinstance(event, OfficerAssigned):
        args.append(event.officer)
        sets.append(f"officer = ${len(args)}")
    if isinstance(event, LeadershipReported | LeadershipAcknowledged):
        sets.append(f"pending_leadership = {'true' if isinstance(event, LeadershipReported) else 'false'}")
    if isinstance(event, MarkedOverdue):
        sets.append("overdue_marked = true")
    if isinstance(event, SupplementRequested):
        args.append(event.occurred_at)
        sets.append(f"paused_since = ${len(args)}")
    if isinstance(event, SupplementReceived):
        sets.append("paused_since = NULL")
    # Steps of one case apply in order; an older one arriving late is already reflected.
    updated = await conn.fetchval(
        f"WITH moved AS (UPDATE processing.case_queue SET {', '.join(sets)}"
        " WHERE dossier_code = $1 AND version < $2 RETURNING 1)"
        " SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM processing.case_queue"
        " WHERE dossier_code = $1)",
        *args,
    )
    if updated:
        return
    if datetime.now(UTC) - event.recorded_at > OPENING_LATE_AFTER:
        # Not a race any more: its opening was dead-lettered, say. Dead-lettered in turn (and
        # re-driven once the opening is in), rather than holding up every batch it is part of.
        raise PoisonMessage(f"case {event.dossier_code} has no queue row; its opening was never projected")
    raise CaseNotYetQueued(event.dossier_code)


# A step newer than this whose case has no row yet waits for its opening (CaseNotYetQueued).
OPENING_LATE_AFTER = timedelta(minutes=10)


class CaseNotYetQueued(Exception):
    """A step of a case whose opening is not projected yet: another replica is projecting it
    in a batch of its own, not committed yet. Transient: the batch is redelivered, by then the
    row is there (a step is never published before its case's opening)."""


async def work_queue(
    pool: asyncpg.Pool, department: str, queue: str, limit: int, user_id: str = ""
) -> list[dict[str, Any]]:
    # every queue's SQL may name $3; asyncpg needs each parameter used, so the others cast it away
    where = QUEUES[queue] if "$3" in QUEUES[queue] else f"({QUEUES[queue]}) AND $3::text IS NOT NULL"
    rows = await pool.fetch(
        "SELECT dossier_code, department_code, procedure_code, state, due_at, officer, pending_leadership,"
        " overdue_marked, paused_since"
        f" FROM processing.case_queue WHERE department_code = $1 AND {where}"
        " ORDER BY due_at LIMIT $2",
        department,
        limit,
        user_id,
    )
    return [dict(r) for r in rows]
