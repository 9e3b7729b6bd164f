"""Postal's commands: load, act, save."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from services.postal.domain import Shipment, shipment_id_for
from shared.eventlog.aggregates import act_and_save, find

DEFAULT_OPERATOR = "VNPOST"
KINDS = ("pickup", "delivery")
# Two writers on one shipment (a webhook and the booking loop) conflict on its version;
# the loser reloads and tries again, which is cheap because every command is idempotent.


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
        sender: dict[str, Any] | None = None,
        recipient: dict[str, Any] | None = None,
        procedure_code: str | None = None,
        backdate_reason: str | None = None,
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
            sender=sender,
            recipient=recipient,
            procedure_code=procedure_code,
            backdate_reason=backdate_reason,
        )
        try:
            self.save(shipment)
        except IntegrityError:
            return False
        return True

    def record_booking(self, shipment_id: UUID, *, tracking_number: str, fee_vnd: int, at: datetime) -> bool:
        return self._act(
            shipment_id, lambda s: s.book(tracking_number=tracking_number, fee_vnd=fee_vnd, at=at)
        )

    def track(
        self,
        shipment_id: UUID,
        *,
        notice_id: str,
        status: str,
        at: datetime,
        delivered_to: str | None = None,
        reason: str | None = None,
    ) -> bool:
        return self._act(
            shipment_id,
            lambda s: s.track(
                notice_id=notice_id, status=status, at=at, delivered_to=delivered_to, reason=reason
            ),
        )

    def _act(self, shipment_id: UUID, action: Callable[[Shipment], bool]) -> bool:
        return act_and_save(self, lambda: self.shipment(shipment_id), action)

    def _find(self, shipment_id: UUID) -> Shipment | None:
        found: Shipment | None = find(self, shipment_id)
        return found

    def shipment(self, shipment_id: UUID) -> Shipment:
        found = self._find(shipment_id)
        if found is None:
            raise ShipmentNotFound(str(shipment_id))
        return found

    def shipments_of(self, dossier_code: str) -> list[Shipment]:
        found = (self._find(shipment_id_for(dossier_code, kind)) for kind in KINDS)
        return [s for s in found if s is not None]
