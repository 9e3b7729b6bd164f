"""Postal's message handlers: a result ready for postal return opens a delivery."""

from __future__ import annotations

import asyncio

import asyncpg

from services.postal.application import PostalApplication
from shared.contracts import AnyEvent, ResultReady
from shared.eventlog.consumer import Handler


def on_processing_event(app: PostalApplication) -> Handler:
    async def handle(_: asyncpg.Connection, event: AnyEvent) -> None:
        if isinstance(event, ResultReady) and event.postal_return:
            await asyncio.to_thread(
                app.open_shipment,
                dossier_id=event.dossier_id,
                dossier_code=event.dossier_code,
                kind="delivery",
                occurred_at=event.occurred_at,
                actor={"user_id": "postal-service", "role": "system", "agency": "BUUDIEN", "channel": 3},
            )

    return handle
