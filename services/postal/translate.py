"""From postal's stored domain events to the published contracts."""

from __future__ import annotations

from typing import Any

from services.postal.domain import Shipment
from shared.contracts import Actor, AnyEvent, ShipmentOpened, event_id


def to_contract(domain_event: Any) -> AnyEvent | None:
    e = domain_event
    if isinstance(e, Shipment.Opened):
        return ShipmentOpened(
            event_id=event_id("postal", e.originator_id, e.originator_version),
            dossier_id=e.dossier_id,
            dossier_code=e.dossier_code,
            occurred_at=e.occurred_at,
            recorded_at=e.timestamp,
            actor=Actor(**e.actor),
            shipment_id=e.originator_id,
            kind=e.kind,
            operator=e.operator,
        )
    return None
