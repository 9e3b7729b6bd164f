"""From processing's stored domain events to the published contracts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.processing.domain import Case
from shared.contracts import Actor, AnyEvent, CaseOpened, DossierDecided, ResultReady, event_id


def to_contract(domain_event: Any) -> AnyEvent | None:
    e = domain_event
    common: dict[str, Any] = {
        "event_id": event_id("processing", e.originator_id, e.originator_version),
        "recorded_at": e.timestamp,
        "occurred_at": e.occurred_at,
        "actor": Actor(**e.actor),
    }
    if isinstance(e, Case.Opened):
        return CaseOpened(
            **common,
            dossier_id=e.dossier_id,
            dossier_code=e.dossier_code,
            department_code=e.department_code,
            due_at=e.due_at,
        )
    if isinstance(e, Case.Decided | Case.ResultReady):
        ref = e.ref
        common |= {
            "backdate_reason": e.backdate_reason,
            "dossier_id": ref["dossier_id"],
            "dossier_code": ref["dossier_code"],
            "department_code": ref["department_code"],
            "due_at": ref["due_at"],
        }
        if isinstance(e, Case.Decided):
            return DossierDecided(
                **common,
                approved=e.approved,
                reasons=e.reasons,
                on_time=e.occurred_at <= datetime.fromisoformat(ref["due_at"]),
                minutes_used=0,
            )
        return ResultReady(**common, postal_return=ref["postal_return"], on_time=e.on_time)
    return None
