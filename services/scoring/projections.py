"""Scoring's read models (asyncpg): one row of facts per dossier, counts per department.

Events of one dossier may arrive in any order (a redelivered batch overtakes nothing, but a
retried one may be overtaken), so counts are never bumped per event: each event updates the
dossier's facts, the dossier is classified before and after, and only the difference is
added to its department's counts. Applying the same facts twice changes nothing; the tracked
consumer makes sure each event is applied once anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.contracts import (
    AnyEvent,
    CaseOpened,
    DossierDecided,
    DossierReceived,
    ResultReady,
    ShipmentOpened,
)

DDL = """
CREATE SCHEMA IF NOT EXISTS scoring;
CREATE TABLE IF NOT EXISTS scoring.dossier_facts (
    dossier_id uuid PRIMARY KEY,
    dossier_code text NOT NULL,
    department_code text,
    procedure_code text,
    channel smallint,
    received_at timestamptz,
    due_at timestamptz,
    decided_at timestamptz,
    approved boolean,
    result_ready_at timestamptz,
    postal_return boolean,
    delivery_shipments integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dossier_facts_department ON scoring.dossier_facts (department_code);
CREATE TABLE IF NOT EXISTS scoring.department_counts (
    department_code text PRIMARY KEY,
    received integer NOT NULL DEFAULT 0,
    resolved integer NOT NULL DEFAULT 0,
    on_time integer NOT NULL DEFAULT 0,
    late integer NOT NULL DEFAULT 0
);
"""

COUNTERS = ("received", "resolved", "on_time", "late")


@dataclass(frozen=True)
class Classification:
    received: int = 0
    resolved: int = 0
    on_time: int = 0
    late: int = 0


def classify(row: dict[str, Any] | None) -> Classification:
    if row is None:
        return Classification()
    received = 1 if row["received_at"] is not None else 0
    decided_at: datetime | None = row["decided_at"]
    due_at: datetime | None = row["due_at"]
    if decided_at is None:
        return Classification(received=received)
    if due_at is None:  # timing unknown until the appointment arrives
        return Classification(received=received, resolved=1)
    on_time = 1 if decided_at <= due_at else 0
    return Classification(received=received, resolved=1, on_time=on_time, late=1 - on_time)


def _updates(event: AnyEvent) -> dict[str, Any]:
    base: dict[str, Any] = {"dossier_code": event.dossier_code}
    if isinstance(event, DossierReceived):
        return base | {
            "department_code": event.department_code,
            "procedure_code": event.procedure_code,
            "channel": int(event.channel),
            "received_at": event.received_at,
            "due_at": event.due_at,
            "postal_return": event.postal_return,
        }
    if isinstance(event, CaseOpened):
        return base | {"department_code": event.department_code}
    if isinstance(event, DossierDecided):
        return base | {
            "department_code": event.department_code,
            "decided_at": event.occurred_at,
            "approved": event.approved,
        }
    if isinstance(event, ResultReady):
        return base | {"department_code": event.department_code, "result_ready_at": event.occurred_at}
    return base


async def apply_event(conn: asyncpg.Connection, event: AnyEvent) -> None:
    before_row = await conn.fetchrow(
        "SELECT * FROM scoring.dossier_facts WHERE dossier_id = $1 FOR UPDATE", event.dossier_id
    )
    before = dict(before_row) if before_row else None
    updates = _updates(event)
    columns = list(updates)
    placeholders = ", ".join(f"${i + 2}" for i in range(len(columns)))
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    after_row = await conn.fetchrow(
        f"INSERT INTO scoring.dossier_facts (dossier_id, {', '.join(columns)})"
        f" VALUES ($1, {placeholders}) ON CONFLICT (dossier_id) DO UPDATE SET {assignments}"
        " RETURNING *",
        event.dossier_id,
        *updates.values(),
    )
    if isinstance(event, ShipmentOpened) and event.kind == "delivery":
        after_row = await conn.fetchrow(
            "UPDATE scoring.dossier_facts SET delivery_shipments = delivery_shipments + 1"
            " WHERE dossier_id = $1 RETURNING *",
            event.dossier_id,
        )
    after = dict(after_row) if after_row else None
    await _apply_delta(conn, before, after)


async def _apply_delta(
    conn: asyncpg.Connection, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    old, new = classify(before), classify(after)
    old_dept = before["department_code"] if before else None
    new_dept = after["department_code"] if after else None
    if old_dept == new_dept and old == new:
        return
    if old_dept is not None:
        await _add(conn, old_dept, old, -1)
    if new_dept is not None:
        await _add(conn, new_dept, new, +1)


async def _add(conn: asyncpg.Connection, department: str, c: Classification, sign: int) -> None:
    values = [sign * getattr(c, name) for name in COUNTERS]
    await conn.execute(
        "INSERT INTO scoring.department_counts (department_code, received, resolved, on_time, late)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (department_code) DO UPDATE SET"
        " received = scoring.department_counts.received + EXCLUDED.received,"
        " resolved = scoring.department_counts.resolved + EXCLUDED.resolved,"
        " on_time = scoring.department_counts.on_time + EXCLUDED.on_time,"
        " late = scoring.department_counts.late + EXCLUDED.late",
        department,
        *values,
    )
