"""Events published by the postal-delivery service (bưu chính công ích, Decision 45/2016).

A *delivery* carries a result from the centre to the citizen; a *pickup* carries a dossier from
the citizen's address to the centre. A pickup happens before any dossier exists at intake, so its
``dossier_code`` is the pickup reference (``BC-…``) and its ``dossier_id`` a provisional id derived
from it; the dossier's receipt time for the legal clock is the pickup's ``delivered_at`` (the
moment the centre takes the dossier over from the postal staff, Decree 118/2025).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.contracts.base import EventBase

ShipmentKind = Literal["pickup", "delivery"]


class ShipmentEvent(EventBase):
    shipment_id: UUID
    kind: ShipmentKind
    operator: str = Field(description="postal operator code, e.g. VNPOST")


class ShipmentOpened(ShipmentEvent):
    event_type: Literal["postal.shipment_opened.v1"] = "postal.shipment_opened.v1"
    procedure_code: str | None = Field(default=None, description="pickups: the procedure asked for")


class ShipmentBooked(ShipmentEvent):
    event_type: Literal["postal.shipment_booked.v1"] = "postal.shipment_booked.v1"
    tracking_number: str
    fee_vnd: int = 0


class ShipmentProgressed(ShipmentEvent):
    """A tracking step from the operator (accepted, picked up, in transit)."""

    event_type: Literal["postal.shipment_progressed.v1"] = "postal.shipment_progressed.v1"
    tracking_number: str
    status: Literal["accepted", "picked_up", "in_transit"]


class ShipmentDelivered(ShipmentEvent):
    """Delivered: for a result, it counts as returned at ``occurred_at``; for a pickup, the
    centre took the dossier over from the postal staff (the clock starts)."""

    event_type: Literal["postal.shipment_delivered.v1"] = "postal.shipment_delivered.v1"
    tracking_number: str
    delivered_to: str
    delivered_at: AwareDatetime


class ShipmentFailed(ShipmentEvent):
    """Failed or returned to sender: a result goes back to the desk for pickup."""

    event_type: Literal["postal.shipment_failed.v1"] = "postal.shipment_failed.v1"
    tracking_number: str
    status: Literal["failed", "returned_to_sender"]
    reason: str


PostalEvent = ShipmentOpened | ShipmentBooked | ShipmentProgressed | ShipmentDelivered | ShipmentFailed
