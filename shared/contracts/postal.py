"""Events published by the postal-delivery service (bưu chính công ích)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import EventBase


class ShipmentOpened(EventBase):
    event_type: Literal["postal.shipment_opened.v1"] = "postal.shipment_opened.v1"
    shipment_id: UUID
    kind: Literal["pickup", "delivery"]
    operator: str = Field(description="postal operator code, e.g. VNPOST")
