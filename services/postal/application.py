"""Postal's commands: load, act, save."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.postal.domain import Shipment, shipment_id_for

DEFAULT_OPERATOR = "VNPOST"
KINDS = ("pickup", "delivery")


class ShipmentNotFound(Exception):
    pass


class PostalApplication(Application[Any]):
    name = "postal"

    def open_shipment(
        self,
        *,
        dossier_id: UUID,
        dossier_code: str,
        kind: str,
        occurred_at: datetime,
        actor: dict[str, Any],
        operator: str = DEFAULT_OPERATOR,
    ) -> bool:
        """Opens it once: a redelivered 'result ready' finds it open and books nothing more."""
        if self._find(shipment_id_for(dossier_code, kind)) is not None:
            return False
        shipment = Shipment(
            dossier_id=dossier_id,
            dossier_code=dossier_code,
            kind=kind,
            operator=operator,
            occurred_at=occurred_at,
            actor=actor,
        )
        try:
            self.save(shipment)
        except IntegrityError:
            return False
        return True

    def _find(self, shipment_id: UUID) -> Shipment | None:
        try:
            found: Shipment = self.repository.get(shipment_id)
        except AggregateNotFoundError:
            return None
        return found

    def shipment(self, shipment_id: UUID) -> Shipment:
        found = self._find(shipment_id)
        if found is None:
            raise ShipmentNotFound(str(shipment_id))
        return found

    def shipments_of(self, dossier_code: str) -> list[Shipment]:
        found = (self._find(shipment_id_for(dossier_code, kind)) for kind in KINDS)
        return [s for s in found if s is not None]
