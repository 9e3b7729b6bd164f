"""From intake's stored domain events to the published contracts."""

from __future__ import annotations

from typing import Any

from eventsourcing.application import Application

from services.intake.catalogue.register import NAME_FIELDS, CatalogueEntry
from services.intake.domain import Dossier
from shared.contracts import (
    Actor,
    AnyEvent,
    CompletionRequested,
    DossierReceived,
    DossierRefused,
    DossierRegistered,
    FilingStep,
    SealedPersonalData,
    event_id,
)
from shared.contracts.catalogue import (
    ProcedureChanged,
    ProcedurePublished,
    ProcedureWithdrawn,
    UnitChanged,
    UnitMerged,
    UnitOpened,
    UnitRenamed,
    UnitRetired,
)
from shared.eventlog.translator import ReplayingTranslator
from shared.pii import is_sealed

# The library creates Dossier's event classes from its @event methods; mypy cannot see them.
Events: Any = Dossier
Entries: Any = CatalogueEntry


def dossier_contract(e: Any, dossier: Dossier) -> AnyEvent | None:
    # A dossier recorded before encryption has its applicant in clear: it is published as a v1
    # event, which carries no applicant (see DossierFiled), never in clear.
    sealed = is_sealed(dossier.applicant)
    version = "v2" if sealed else "v1"
    common: dict[str, Any] = {
        "event_id": event_id("intake", e.originator_id, e.originator_version),
        "dossier_id": e.originator_id,
        "dossier_code": dossier.code,
        "occurred_at": e.occurred_at,
        "recorded_at": e.timestamp,
        "actor": Actor(**e.actor),
        "backdate_reason": e.backdate_reason,
        "applicant": SealedPersonalData(**dossier.applicant) if sealed else None,
        **dossier.filing,
    }
    # An online filing's registration (national status 1), and its filing again after an online
    # completion: waiting for the desk. No applicant: nobody needs it before the receipt.
    if (isinstance(e, Events.Registered) and dossier.outcome == "registered") or isinstance(
        e, Events.CompletedOnline
    ):
        return DossierRegistered(
            **{**common, "applicant": None},
            event_type="intake.dossier_registered.v1",
            document_count=len((dossier.online or {}).get("documents", [])),
            completed_online=isinstance(e, Events.CompletedOnline),
        )
    checked = isinstance(e, Events.Checked)
    if isinstance(e, Events.Registered) or checked:
        if dossier.outcome == "incomplete":
            return CompletionRequested(
                **common,
                event_type=f"intake.completion_requested.{version}",
                missing_items=dossier.missing_items or [],
            )
        if dossier.outcome == "refused":
            return DossierRefused(
                **common,
                event_type=f"intake.dossier_refused.{version}",
                reasons=dossier.refusal_reasons or "",
            )
    if dossier.outcome == "received" and isinstance(e, Events.Registered | Events.Completed | Events.Checked):
        return DossierReceived(
            **common,
            event_type=f"intake.dossier_received.{version}",
            **(dossier.terms or {}),
            filing_steps=[FilingStep(**s) for s in getattr(dossier, "online_steps", [])],
        )
    return None


def intake_contract(e: Any, aggregate: Any) -> AnyEvent | None:
    """Intake's log holds dossiers and the catalogue's entries; each has its own contracts."""
    if isinstance(aggregate, CatalogueEntry):
        return catalogue_contract(e, aggregate)
    return dossier_contract(e, aggregate)


def catalogue_contract(e: Any, entry: CatalogueEntry) -> AnyEvent | None:
    common: dict[str, Any] = {
        "event_id": event_id("intake", e.originator_id, e.originator_version),
        "dossier_id": e.originator_id,
        "dossier_code": f"{entry.kind}:{entry.code}",
        "occurred_at": e.timestamp,
        "recorded_at": e.timestamp,
        "actor": Actor(**e.actor),
        "kind": entry.kind,
        "code": entry.code,
        "effective_from": e.effective_from,
    }
    unit = entry.kind != "procedure"
    if isinstance(e, Entries.Published):
        return UnitOpened(**common, data=e.data) if unit else ProcedurePublished(**common, data=e.data)
    if isinstance(e, Entries.Changed):
        if not unit:
            return ProcedureChanged(**common, changes=e.changes)
        if set(e.changes) <= set(NAME_FIELDS):
            return UnitRenamed(**common, name_vi=entry.data["name_vi"], name_en=entry.data["name_en"])
        return UnitChanged(**common, changes=e.changes)
    if isinstance(e, Entries.Withdrawn):
        if not unit:
            return ProcedureWithdrawn(**common)
        if e.merged_into:
            return UnitMerged(**common, into=e.merged_into)
        return UnitRetired(**common)
    return None


def translator(app: Application[Any], *, trusted: bool = False) -> ReplayingTranslator:
    """The relay's translator, and the replay's (``trusted``: nothing to skip here)."""
    return ReplayingTranslator(app, intake_contract)
