"""From postal's stored domain events to the published contracts.

The ``ReplayingTranslator`` hands over the shipment as it stands after each event, so that a
tracking step can name its dossier, operator and tracking number. Late or ignored steps stay
inside postal (they are in the shipment's history) and publish nothing; so does a return to
sender after a failure, whose consequence (the result back at the desk) already happened.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application

from services.postal.domain import BookedEvent, Shipment, TrackedEvent
from services.postal.status import FAILURES
from shared.contracts import (
    Actor,
    AnyEvent,
    ShipmentBooked,
    ShipmentDelivered,
    ShipmentFailed,
    ShipmentOpened,
    ShipmentProgressed,
    event_id,
)
from shared.eventlog.translator import ReplayingTranslator

# Tracking steps are reported by the operator, not by a person at the centre.
OPERATOR_ACTOR = {"role": "postal_operator", "agency": "BUUCHINH", "channel": 3}


def shipment_contract(e: Any, shipment: Shipment) -> AnyEvent | None:
    common: dict[str, Any] = {
        "event_id": event_id("postal", e.originator_id, e.originator_version),
        "dossier_id": shipment.dossier_id,
        "dossier_code": shipment.dossier_code,
        "recorded_at": e.timestamp,
        "shipment_id": e.originator_id,
        "kind": shipment.kind,
        "operator": shipment.operator,
    }
    if isinstance(e, Shipment.Opened):
        return ShipmentOpened(
            **common,
            occurred_at=e.occurred_at,
            actor=Actor(**e.actor),
            procedure_code=e.procedure_code,
            backdate_reason=getattr(e, "backdate_reason", None),
        )
    operator = Actor(user_id=shipment.operator, **OPERATOR_ACTOR)
    if isinstance(e, BookedEvent):
        return ShipmentBooked(
            **common, occurred_at=e.at, actor=operator, tracking_number=e.tracking_number, fee_vnd=e.fee_vnd
        )
    if not isinstance(e, TrackedEvent) or not e.moves:
        return None
    tracked: dict[str, Any] = {
        **common,
        "occurred_at": e.at,
        "actor": operator,
        "tracking_number": shipment.tracking_number or "",
    }
    if e.status == "delivered":
        return ShipmentDelivered(**tracked, delivered_to=e.delivered_to or "", delivered_at=e.at)
    if e.status in FAILURES:
        if any(h["status"] in FAILURES and not h.get("late") for h in shipment.history[:-1]):
            return None  # failed, then came back: the result went back to the desk once already
        return ShipmentFailed(
            **tracked, status=e.status, reason=e.reason or "không rõ lý do / no reason given"
        )
    return ShipmentProgressed(**tracked, status=e.status)


def translator(app: Application[Any], *, trusted: bool = False) -> ReplayingTranslator:
    """The relay's translator, and the replay's (``trusted``: nothing to skip here)."""
    return ReplayingTranslator(app, shipment_contract)
