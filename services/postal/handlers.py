"""Postal's message handlers.

From intake it keeps what a delivery needs (the applicant, still sealed, only when the result
goes back by post) and every dossier's channel for the figures. From processing, a
result ready for postal return opens a delivery; the booking loop books it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import asyncpg

from services.postal.application import PostalApplication
from shared.contracts import AnyEvent, DossierReceived, ResultReady
from shared.eventlog.consumer import Handler, PoisonMessage

SYSTEM_ACTOR = {"user_id": "postal-service", "role": "system", "agency": "BUUDIEN", "channel": 3}


class RecipientNotYetKnown(Exception):
    """Intake's event has not reached postal yet: a transient failure, redelivered later."""


def on_intake_event() -> Handler:
    async def handle(conn: asyncpg.Connection, event: AnyEvent) -> None:
        if not isinstance(event, DossierReceived):
            return
        person = event.applicant if event.postal_return else None
        await conn.execute(
            "INSERT INTO postal.recipients (dossier_id, dossier_code, procedure_code, channel,"
            " postal_return, received_at, applicant)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT (dossier_id) DO NOTHING",
            event.dossier_id,
            event.dossier_code,
            event.procedure_code,
            int(event.channel),
            event.postal_return,
            event.received_at,
            person.model_dump_json() if person else None,
        )

    return handle


def on_processing_event(
    app: PostalApplication, *, operator: str, centre: dict[str, str], wake: Callable[[], None]
) -> Handler:
    async def handle(conn: asyncpg.Connection, event: AnyEvent) -> None:
        if not (isinstance(event, ResultReady) and event.postal_return):
            return
        row = await conn.fetchrow(
            "SELECT procedure_code, postal_return, applicant::text AS applicant FROM postal.recipients"
            " WHERE dossier_id = $1",
            event.dossier_id,
        )
        if row is None:
            raise RecipientNotYetKnown(f"no address yet for dossier {event.dossier_code}")
        if not row["postal_return"]:  # intake recorded no postal return: nowhere to deliver to
            raise PoisonMessage(f"dossier {event.dossier_code} was received without postal return")
        if row["applicant"] is None:
            raise PoisonMessage(
                f"dossier {event.dossier_code} was received before encryption: no sealed address"
            )
        await asyncio.to_thread(
            app.open_shipment,
            dossier_id=event.dossier_id,
            dossier_code=event.dossier_code,
            kind="delivery",
            occurred_at=event.occurred_at,
            backdate_reason=event.backdate_reason,  # the result-ready entered late says why
            actor=SYSTEM_ACTOR,
            operator=operator,
            sender=centre,
            recipient=json.loads(row["applicant"]),  # sealed: opened only to book
            procedure_code=row["procedure_code"],
        )
        wake()

    return handle
