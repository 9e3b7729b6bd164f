"""Pickups: a postal employee collects a dossier at the citizen's address (Decision 45/2016).

Under Decision 45/2016/QĐ-TTg the citizen may choose the public postal service to send the
dossier, to receive the result, or both; the postal employee checks the documents against the
published list, both sign a slip, and the dossier is sealed in front of the citizen. The postal
employee is not the agency: under Decree 118/2025/NĐ-CP the dossier counts as received — and
the legal clock starts — when the agency's one-stop desk takes it over from the postal staff,
not when the citizen hands it to the postman. So a pickup's ``ShipmentDelivered.delivered_at``
(kind ``pickup``) is the receipt time intake must use for the dossier it then receives through
the postal channel (KenhThucHien 3); a failed pickup starts no clock at all.

A pickup comes before any dossier code exists, so it carries its own reference (``BC-…``),
from which a provisional dossier id is derived; an ``Idempotency-Key`` makes the reference, and
so the booking, the same on a retried request.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.postal.domain import SHIPMENT_NAMESPACE
from shared.contracts.base import PHONE_PATTERN, Text
from shared.host.business_time import no_actor_in_body


class PickupContact(BaseModel):
    """Personal data: only what the postman needs to find the citizen."""

    model_config = ConfigDict(extra="forbid")

    full_name: Text = Field(min_length=1, max_length=200)
    phone: str = Field(pattern=PHONE_PATTERN)
    address: Text = Field(min_length=1, max_length=500)


class PickupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure_code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    applicant: PickupContact
    operator: str | None = Field(default=None, max_length=32, description="by default the first configured")

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        return no_actor_in_body(data)


def pickup_reference(idempotency_key: str | None) -> str:
    if idempotency_key:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        return f"BC-{digest[:12].upper()}"
    return f"BC-{uuid.uuid4().hex[:12].upper()}"


def provisional_dossier_id(reference: str) -> UUID:
    return uuid.uuid5(SHIPMENT_NAMESPACE, f"pickup-dossier:{reference}")


def same_request(shipment: Any, request: PickupRequest, sender: dict[str, Any] | None) -> bool:
    """A retried request with the same key must ask for the same pickup (``sender``: the
    stored contact, opened; None once erased)."""
    return bool(
        shipment.procedure_code == request.procedure_code and sender == request.applicant.model_dump()
    )
