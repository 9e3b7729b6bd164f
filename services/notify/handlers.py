"""Notify's handlers: who wants to be told (from intake), and what to tell them (processing, postal).

The outbox row is written in the consumer's transaction, the one that records the event as
processed: a redelivered event finds its row (unique by source event) and adds nothing.
"""

from __future__ import annotations

import json

import asyncpg

from services.notify.templates import notice_of
from shared.contracts import AnyEvent, DossierReceived
from shared.eventlog.consumer import Handler


class DossierNotYetKnown(Exception):
    """Intake's event has not reached notify yet: a transient failure, redelivered later."""


def on_intake_event() -> Handler:
    async def handle(conn: asyncpg.Connection, event: AnyEvent) -> None:
        if not isinstance(event, DossierReceived):
            return
        chosen = event.notify_channel if event.applicant is not None else None
        await conn.execute(
            "INSERT INTO notify.dossiers (dossier_id, dossier_code, channel, applicant)"
            " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (dossier_id) DO NOTHING",
            event.dossier_id,
            event.dossier_code,
            chosen,
            event.applicant.model_dump_json() if chosen and event.applicant else None,
        )

    return handle


def on_case_event() -> Handler:
    async def handle(conn: asyncpg.Connection, event: AnyEvent) -> None:
        notice = notice_of(event)
        if notice is None:
            return
        row = await conn.fetchrow(
            "SELECT channel FROM notify.dossiers WHERE dossier_id = $1", event.dossier_id
        )
        if row is None:
            raise DossierNotYetKnown(f"dossier {event.dossier_code} not received here yet")
        if row["channel"] is None:
            return  # the citizen chose not to be told
        kind, values = notice
        await conn.execute(
            "INSERT INTO notify.outbox (source_event_id, dossier_id, dossier_code, kind, channel, vars)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (source_event_id) DO NOTHING",
            event.event_id,
            event.dossier_id,
            event.dossier_code,
            kind,
            row["channel"],
            json.dumps(values, ensure_ascii=False),
        )

    return handle
