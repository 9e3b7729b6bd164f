"""Processing's message handlers: a received dossier opens its case."""

from __future__ import annotations

import asyncio

import asyncpg

from services.processing.application import ProcessingApplication
from shared.contracts import AnyEvent, DossierReceived
from shared.eventlog.consumer import Handler


def on_intake_event(app: ProcessingApplication) -> Handler:
    async def handle(_: asyncpg.Connection, event: AnyEvent) -> None:
        if isinstance(event, DossierReceived):
            await asyncio.to_thread(
                app.open_case,
                dossier_id=event.dossier_id,
                dossier_code=event.dossier_code,
                department_code=event.department_code,
                due_at=event.due_at,
                postal_return=event.postal_return,
                occurred_at=event.received_at,
                actor=event.actor.model_dump(mode="json"),
            )

    return handle
