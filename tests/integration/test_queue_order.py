"""Processing's work queues when replicas project side by side: a case's step that reaches the
projection before its opening (in another replica's batch, not committed yet) is retried, never
dropped; one whose opening never came is dead-lettered instead of blocking its batches forever."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest

from services.processing.work_queues import DDL, CaseNotYetQueued, project_case_event
from shared.contracts import Actor, CaseOpened, OfficerAssigned
from shared.eventlog import PoisonMessage

ACTOR = Actor(user_id="canbo.stp", role="officer", agency="STP", channel=1)


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    await connection.execute("CREATE SCHEMA IF NOT EXISTS processing")
    await connection.execute(DDL)
    yield connection
    await connection.close()


def events(recorded_at: datetime) -> tuple[CaseOpened, OfficerAssigned]:
    dossier = uuid4()
    common = {
        "dossier_id": dossier,
        "dossier_code": f"H99-260302-{dossier.hex[:4]}",
        "occurred_at": recorded_at,
        "recorded_at": recorded_at,
        "actor": ACTOR,
        "department_code": "STP",
        "due_at": recorded_at + timedelta(days=5),
    }
    opened = CaseOpened(event_id=f"processing:{dossier}:1", procedure_code="LLTP-01", **common)
    assigned = OfficerAssigned(event_id=f"processing:{dossier}:2", officer="cb.an", **common)
    return opened, assigned


async def test_a_step_before_its_opening_is_retried_then_applied(conn: asyncpg.Connection) -> None:
    opened, assigned = events(datetime.now(UTC))
    with pytest.raises(CaseNotYetQueued):  # transient: its batch is redelivered
        await project_case_event(conn, assigned)
    await project_case_event(conn, opened)  # the other replica's batch commits
    await project_case_event(conn, assigned)  # the redelivery
    row = await conn.fetchrow(
        "SELECT officer, version FROM processing.case_queue WHERE dossier_code = $1", opened.dossier_code
    )
    assert (row["officer"], row["version"]) == ("cb.an", 2)
    # A late duplicate of an older step changes nothing and is not an error.
    await project_case_event(conn, assigned)


async def test_a_step_whose_opening_never_came_is_poison_after_a_while(conn: asyncpg.Connection) -> None:
    _, assigned = events(datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(PoisonMessage):
        await project_case_event(conn, assigned)
