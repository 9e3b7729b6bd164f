"""From intake's stored domain events to the published contracts."""

from __future__ import annotations

from typing import Any

from services.intake.domain import Dossier
from shared.contracts import Actor, AnyEvent, DossierReceived, PersonalData, event_id


def to_contract(domain_event: Any) -> AnyEvent | None:
    if isinstance(domain_event, Dossier.Received):
        e = domain_event
        return DossierReceived(
            event_id=event_id("intake", e.originator_id, e.originator_version),
            dossier_id=e.originator_id,
            dossier_code=e.code,
            occurred_at=e.occurred_at,
            recorded_at=e.timestamp,
            actor=Actor(**e.actor),
            backdate_reason=e.backdate_reason,
            procedure_code=e.procedure_code,
            department_code=e.department_code,
            receiving_point=e.receiving_point,
            channel=e.channel,
            online_level=e.online_level,
            postal_return=e.postal_return,
            legal_days=e.legal_days,
            legal_hours=e.legal_hours,
            received_at=e.received_at,
            due_at=e.due_at,
            applicant=PersonalData(**e.applicant),
        )
    return None
