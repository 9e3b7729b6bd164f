"""The desk's "online, to check" queue and the citizen's list of filings: a table kept from
intake's own log, so that no filing is ever missing from it.

The dossier's events are the record; ``intake.online_filings`` only finds them. A request that
saved an event writes its row at once (the citizen sees their filing in the list they are sent
to), but a crash between the event's commit and that write would leave the filing out of both
lists. So the table is also kept by tailing intake's notification log from a saved position
(``shared/eventlog/log_tail.py``, as postal's shipments view is): at start (before the service
answers) and every few seconds.
Every write is guarded by the dossier's version, so the request's write and the tail's may come
in either order and the row ends as the newest event says.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from eventsourcing.utils import get_topic

from services.intake.application import IntakeApplication
from services.intake.domain import Dossier, dossier_id_for
from shared.eventlog.log_tail import LogTail

log = logging.getLogger(__name__)

NAME = "online_filings"

DDL = """
CREATE TABLE IF NOT EXISTS intake.online_filings (
    code text PRIMARY KEY,
    receiving_point text NOT NULL,
    procedure_code text NOT NULL,
    owner text NOT NULL,
    outcome text NOT NULL,
    registered_at timestamptz NOT NULL,
    checked_at timestamptz
);
ALTER TABLE intake.online_filings ADD COLUMN IF NOT EXISTS dossier_id uuid;
ALTER TABLE intake.online_filings ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS online_filings_desk ON intake.online_filings (receiving_point, outcome);
CREATE INDEX IF NOT EXISTS online_filings_owner ON intake.online_filings (owner);
CREATE UNIQUE INDEX IF NOT EXISTS online_filings_dossier ON intake.online_filings (dossier_id);
CREATE TABLE IF NOT EXISTS intake.index_position (
    name text PRIMARY KEY,
    position bigint NOT NULL
);
"""

# The library creates Dossier's event classes from its @event methods; mypy cannot see them.
Events: Any = Dossier
# Only these events change a row; the log's other events (every dossier of the counter's
# erasures) are not even read.
TOPICS = tuple(
    get_topic(cls) for cls in (Events.Registered, Events.Checked, Events.Completed, Events.CompletedOnline)
)

_UPSERT = """
INSERT INTO intake.online_filings AS f (code, dossier_id, receiving_point, procedure_code, owner,
    outcome, registered_at, checked_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (code) DO UPDATE SET outcome = EXCLUDED.outcome, checked_at = EXCLUDED.checked_at,
    version = EXCLUDED.version, dossier_id = EXCLUDED.dossier_id
WHERE f.version < EXCLUDED.version
"""
_UPDATE = """
UPDATE intake.online_filings SET outcome = $2, checked_at = coalesce($3, checked_at), version = $4
WHERE dossier_id = $1 AND version < $4
"""


async def create_tables(pool: asyncpg.Pool) -> None:
    await pool.execute(DDL)
    # rows written before the table knew dossiers' ids (the id follows from the code)
    missing = await pool.fetch("SELECT code FROM intake.online_filings WHERE dossier_id IS NULL")
    if missing:
        await pool.executemany(
            "UPDATE intake.online_filings SET dossier_id = $2 WHERE code = $1",
            [(r["code"], dossier_id_for(r["code"])) for r in missing],
        )


async def record(conn: asyncpg.Connection | asyncpg.Pool, dossier: Dossier) -> None:
    """The row of an online filing as the dossier stands now (a request's own write)."""
    if dossier.online is None:
        return
    await conn.execute(
        _UPSERT,
        dossier.code,
        dossier.id,
        dossier.filing["receiving_point"],
        dossier.filing["procedure_code"],
        dossier.registered_by["user_id"],
        dossier.outcome,
        dossier.registered_at,
        dossier.checked_at,
        dossier.version,
    )


async def _apply(conn: asyncpg.Connection, e: Any) -> None:
    if isinstance(e, Events.Registered):
        if e.online is None:
            return  # filed at the counter: in no online list
        await conn.execute(
            _UPSERT,
            e.code,
            e.originator_id,
            e.filing["receiving_point"],
            e.filing["procedure_code"],
            e.actor["user_id"],
            e.outcome,
            e.occurred_at,
            None,
            e.originator_version,
        )
    elif isinstance(e, Events.Checked):
        await conn.execute(_UPDATE, e.originator_id, e.outcome, e.occurred_at, e.originator_version)
    elif isinstance(e, Events.Completed):  # at the counter, after the desk asked online
        await conn.execute(_UPDATE, e.originator_id, "received", e.occurred_at, e.originator_version)
    elif isinstance(e, Events.CompletedOnline):
        await conn.execute(_UPDATE, e.originator_id, "registered", None, e.originator_version)


_REGISTERED = get_topic(Events.Registered)
_COUNTER_RECEIPT = b'"online":null'


def _may_change_a_row(notification: Any) -> bool:
    """False for a receipt at the counter (most of the log), known from its stored JSON without
    building the event: the tail then decodes only online filings and their later steps."""
    if notification.topic != _REGISTERED:
        return True
    # The dossier's own key, as the library's JSON writes it: no other key of a registration
    # is named "online" (``online_level`` is not), and a quote inside a text value is escaped.
    if _COUNTER_RECEIPT in notification.state:
        return False
    try:
        state = json.loads(notification.state)
    except ValueError:  # not plain JSON (a store that compresses or encrypts): decode it all
        return True
    return not isinstance(state, dict) or state.get("online") is not None


class OnlineFilingIndex(LogTail):
    """Tailed on intake's commits, at most twice a second: the requests write their own rows
    first; this picks up other replicas' filings."""

    def __init__(
        self, app: IntakeApplication, pool: Callable[[], asyncpg.Pool], batch_size: int = 500
    ) -> None:
        super().__init__(
            app,
            pool,
            schema="intake",
            name=NAME,
            apply=_apply,
            topics=TOPICS,
            wanted=_may_change_a_row,
            batch_size=batch_size,
            every_s=5.0,
        )
