"""Shipments through the public postal service (bưu chính công ích, Decision 45/2016). No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

SHIPMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://motcua.vn/shipment")


def shipment_id_for(dossier_code: str, kind: str) -> UUID:
    """One pickup and one delivery per dossier at most: the id says which."""
    return uuid5(SHIPMENT_NAMESPACE, f"{dossier_code}:{kind}")


class Shipment(Aggregate):
    """A pickup of a dossier from the citizen, or a delivery of a result to the citizen."""

    @staticmethod
    def create_id(dossier_code: str, kind: str) -> UUID:  # type: ignore[override]
        return shipment_id_for(dossier_code, kind)

    @event("Opened")
    def __init__(
        self,
        *,
        dossier_id: UUID,
        dossier_code: str,
        kind: str,
        operator: str,
        occurred_at: datetime,
        actor: dict[str, Any],
    ) -> None:
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.kind = kind
        self.operator = operator
        self.opened_at = occurred_at
        self.status = "opened"
        self.history: list[dict[str, Any]] = [{"status": "opened", "at": occurred_at.isoformat()}]
