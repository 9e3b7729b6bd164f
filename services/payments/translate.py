"""From payments' stored domain events to the published contracts."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application

from services.payments.domain import Charge, PaidEvent
from shared.contracts import Actor, AnyEvent, ChargeOpened, PaymentReceived, event_id
from shared.eventlog.translator import ReplayingTranslator


def charge_contract(e: Any, charge: Charge) -> AnyEvent | None:
    common: dict[str, Any] = {
        "event_id": event_id("payments", e.originator_id, e.originator_version),
        "dossier_id": charge.dossier_id,
        "dossier_code": charge.dossier_code,
        "recorded_at": e.timestamp,
        "charge_id": e.originator_id,
        "kind": charge.kind,
        "number": charge.number,
        "amount_vnd": charge.amount_vnd,
        "department_code": charge.department_code,
    }
    if isinstance(e, Charge.Opened):
        return ChargeOpened(
            **common, occurred_at=e.occurred_at, actor=Actor(**e.actor), description=e.description
        )
    if isinstance(e, PaidEvent):
        return PaymentReceived(
            **common,
            occurred_at=e.at,
            actor=Actor(**e.actor),
            method=e.method,
            provider=e.provider,
            transaction_id=e.transaction_id,
        )
    return None


def translator(app: Application[Any], *, trusted: bool = False) -> ReplayingTranslator:
    """The relay's translator, and the replay's (``trusted``: nothing to skip here)."""
    return ReplayingTranslator(app, charge_contract)
