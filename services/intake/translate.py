"""From intake's stored domain events to the published contracts."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application

from services.intake.domain import Dossier
from shared.contracts import (
    Actor,
    AnyEvent,
    CompletionRequested,
    DossierReceived,
    DossierRefused,
    PersonalData,
    event_id,
)
from shared.eventlog.translator import ReplayingTranslator

# The library creates Dossier's event classes from its @event methods; mypy cannot see them.
Events: Any = Dossier


def dossier_contract(e: Any, dossier: Dossier) -> AnyEvent | None:
    common: dict[str, Any] = {
        "event_id": event_id("intake", e.originator_id, e.originator_version),
        "dossier_id": e.originator_id,
        "dossier_code": dossier.code,
        "occurred_at": e.occurred_at,
        "recorded_at": e.timestamp,
        "actor": Actor(**e.actor),
        "backdate_reason": e.backdate_reason,
        "applicant": PersonalData(**dossier.applicant),
        **dossier.filing,
    }
    if isinstance(e, Events.Registered):
        if dossier.outcome == "incomplete":
            return CompletionRequested(**common, missing_items=dossier.missing_items or [])
        if dossier.outcome == "refused":
            return DossierRefused(**common, reasons=dossier.refusal_reasons or "")
    if dossier.outcome == "received" and isinstance(e, Events.Registered | Events.Completed):
        return DossierReceived(**common, **(dossier.terms or {}))
    return None


def translator(app: Application[Any]) -> ReplayingTranslator:
    return ReplayingTranslator(app, dossier_contract)
