"""Payments' message handler: each received dossier's fee becomes a charge.

The amount is the catalogue's fee for the procedure as intake recorded it on the receipt (the
version in force on the receipt's day, from the catalogue's events), the one a platform's
callback is checked against: a fee changed by an import reaches the dossiers received from its
date on, and never an earlier one. A dossier whose fee intake recorded as already paid online (paid
before the receipt, through the portal) owes nothing more here; a procedure without a fee opens
no charge.
"""

from __future__ import annotations

import asyncio

import asyncpg

from services.payments.application import PaymentsApplication
from shared.contracts import AnyEvent, DossierReceived
from shared.eventlog.consumer import Handler

SYSTEM_ACTOR = {"user_id": "payments-service", "role": "system", "agency": "TTPVHCC", "channel": 1}


def on_intake_event(app: PaymentsApplication) -> Handler:
    async def handle(conn: asyncpg.Connection, event: AnyEvent) -> None:
        if not isinstance(event, DossierReceived):
            return
        await conn.execute(
            "INSERT INTO payments.dossiers (dossier_id, dossier_code, procedure_code, department_code,"
            " receiving_point, received_at, tracking_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT DO NOTHING",
            event.dossier_id,
            event.dossier_code,
            event.procedure_code,
            event.department_code,
            event.receiving_point,
            event.received_at,
            event.tracking_hash,
        )
        amount = event.fee_vnd
        if amount <= 0 or event.paid_online:
            return
        await asyncio.to_thread(
            app.open_charge,
            dossier_id=event.dossier_id,
            dossier_code=event.dossier_code,
            kind="fee",
            number=1,
            amount_vnd=amount,
            description=f"Phí, lệ phí thủ tục {event.procedure_code}",
            department_code=event.department_code,
            receiving_point=event.receiving_point,
            occurred_at=event.received_at,
            actor=SYSTEM_ACTOR,
        )

    return handle
