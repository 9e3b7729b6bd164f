"""From intake's stored domain events to the published contracts."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from functools import partial
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from services.intake.catalogue.register import NAME_FIELDS, CatalogueEntry
from services.intake.domain import Dossier
from shared.contracts import (
    Actor,
    AnyEvent,
    Channel,
    CompletionRequested,
    DocumentHandedIn,
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
from shared.contracts.intake import DossierFiled, ScannedDocument
from shared.contracts.trusted import actor as trusted_actor
from shared.contracts.trusted import as_uuid, construct
from shared.eventlog.stored_json import StoredRow, Unreadable
from shared.eventlog.translator import ReplayingTranslator
from shared.pii import is_sealed

# The library creates Dossier's event classes from its @event methods; mypy cannot see them.
Events: Any = Dossier
Entries: Any = CatalogueEntry


# Each stored step of a dossier that may publish, by its class (the library makes the classes).
_STEPS: dict[type, str] = {
    Events.Registered: "registered",
    Events.CompletedOnline: "completed_online",
    Events.Checked: "checked",
    Events.Completed: "completed",
}


class DossierLike(Protocol):
    """What a published intake event needs from its dossier (a ``Dossier``, or the state of its
    registration as a replay reads it from the store)."""

    code: str
    filing: dict[str, Any]
    outcome: str
    terms: dict[str, Any] | None
    missing_items: list[str] | None
    refusal_reasons: str | None
    applicant: dict[str, Any]
    online: dict[str, Any] | None
    online_steps: list[dict[str, Any]]


def dossier_contract(e: Any, dossier: DossierLike, *, trusted: bool = False) -> AnyEvent | None:
    """The published event for one stored step, ``dossier`` as it stood after it.

    ``trusted``: built without validating again (a replay reading our own store, every step of
    which was validated when it was recorded); the relay validates what it publishes.
    """
    step = _STEPS.get(type(e))
    if step is None:
        return None
    return step_contract(step, e.originator_id, e.originator_version, vars(e), dossier, trusted=trusted)


def step_contract(
    step: str,
    dossier_id: UUID,
    version: int,
    state: Mapping[str, Any],
    dossier: DossierLike,
    *,
    trusted: bool = False,
) -> AnyEvent | None:
    """``dossier_contract`` from the stored step's state (its attributes: ``timestamp``,
    ``occurred_at``, ``actor``, ``backdate_reason``) and the kind of step it is."""
    # A dossier recorded before encryption has its applicant in clear: it is published as a v1
    # event, which carries no applicant (see DossierFiled), never in clear.
    sealed = is_sealed(dossier.applicant)
    version_tag = "v2" if sealed else "v1"
    make = _construct_intake if trusted else _validate
    common: dict[str, Any] = {
        "event_id": event_id("intake", dossier_id, version),
        "dossier_id": dossier_id,
        "dossier_code": dossier.code,
        "occurred_at": state["occurred_at"],
        "recorded_at": state["timestamp"],
        "actor": state["actor"],
        "backdate_reason": state.get("backdate_reason"),
        "applicant": dossier.applicant if sealed else None,
        **dossier.filing,
    }
    # An online filing's registration (national status 1), and its filing again after an online
    # completion: waiting for the desk. No applicant: nobody needs it before the receipt.
    if (step == "registered" and dossier.outcome == "registered") or step == "completed_online":
        return make(
            DossierRegistered,
            {
                **common,
                "applicant": None,
                "event_type": "intake.dossier_registered.v1",
                "document_count": len((dossier.online or {}).get("documents", [])),
                "completed_online": step == "completed_online",
            },
        )
    if step in ("registered", "checked"):
        if dossier.outcome == "incomplete":
            return make(
                CompletionRequested,
                {
                    **common,
                    "event_type": f"intake.completion_requested.{version_tag}",
                    "missing_items": dossier.missing_items or [],
                },
            )
        if dossier.outcome == "refused":
            return make(
                DossierRefused,
                {
                    **common,
                    "event_type": f"intake.dossier_refused.{version_tag}",
                    "reasons": dossier.refusal_reasons or "",
                },
            )
    if dossier.outcome == "received" and step in ("registered", "completed", "checked"):
        return make(
            DossierReceived,
            {
                **common,
                "event_type": f"intake.dossier_received.{version_tag}",
                **(dossier.terms or {}),
                "filing_steps": getattr(dossier, "online_steps", []),
            },
        )
    return None


def _validate(cls: type[DossierFiled], fields: dict[str, Any]) -> AnyEvent:
    return cast(AnyEvent, cls(**fields))


def _construct_intake(cls: type[DossierFiled], fields: dict[str, Any]) -> AnyEvent:
    """What validation would make of these fields, without checking them: the nested models
    built, the channel an enum, ids as UUIDs (the store keeps the dicts the models were dumped to)."""
    fields["actor"] = trusted_actor(fields["actor"])
    fields["channel"] = Channel(fields["channel"])
    applicant = fields["applicant"]
    if applicant is not None:
        fields["applicant"] = construct(
            SealedPersonalData,
            {"key_ref": as_uuid(applicant["key_ref"]), "ciphertext": applicant["ciphertext"]},
        )
    documents = fields.get("documents")
    if documents is not None:
        fields["documents"] = [construct(DocumentHandedIn, d) for d in documents]
    scans = fields.get("scanned_documents")
    if scans is not None:
        fields["scanned_documents"] = [
            construct(ScannedDocument, {**d, "document_id": as_uuid(d["document_id"])}) for d in scans
        ]
    steps = fields.get("filing_steps")
    if steps is not None:
        fields["filing_steps"] = [construct(FilingStep, s) for s in steps]
    return cast(AnyEvent, construct(cls, fields))


def intake_contract(e: Any, aggregate: Any, *, trusted: bool = False) -> AnyEvent | None:
    """Intake's log holds dossiers and the catalogue's entries; each has its own contracts."""
    if isinstance(aggregate, CatalogueEntry):
        return catalogue_contract(e, aggregate)
    return dossier_contract(e, aggregate, trusted=trusted)


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
    """The relay's translator; ``trusted``: the replay's, reading our own store."""
    return ReplayingTranslator(app, partial(intake_contract, trusted=True) if trusted else intake_contract)


_REGISTERED = get_topic(Events.Registered)


class ReplayReader:
    """The replay's reader of intake's rows (trusted: our own store).

    A dossier's registration holds the whole dossier as it then stood, so its contract is made
    straight from the row's JSON, without the library's mapper or the aggregate. Any other step
    goes the library's way, through the translator and the dossier moved forward by each step;
    the registrations read from their rows are kept (as stored bytes, a bounded number) to
    start that dossier from when one of its later steps comes.
    """

    def __init__(self, app: Application[Any], keep: int = 20_000) -> None:
        self.translate = translator(app, trusted=True)
        self.mapper = app.mapper
        self.keep = keep
        self._registrations: OrderedDict[UUID, StoredRow] = OrderedDict()

    def dossier_of(self, row: StoredRow) -> UUID:
        return row.originator_id  # a dossier's id is its aggregate's

    def read(self, row: StoredRow) -> AnyEvent | None:
        if row.topic == _REGISTERED and row.version == 1:
            try:
                made = self._registration(row)
            except Unreadable:
                made = None
            if made is not None:
                return made
        first = self._registrations.pop(row.originator_id, None)
        if first is not None:
            self.translate.advance(first.domain_event(self.mapper))
        return self.translate(row.domain_event(self.mapper))

    def _registration(self, row: StoredRow) -> AnyEvent | None:
        stored = row.parsed()
        state = stored.state
        stored.dt("timestamp")
        stored.dt("occurred_at")
        for key in ("filing", "terms", "online", "applicant"):
            if state.get(key) is not None:
                stored.decode(key)
        if not stored.complete:
            return None
        made = step_contract("registered", row.originator_id, 1, state, _Registration(state), trusted=True)
        if made is None:
            return None
        self._registrations[row.originator_id] = StoredRow(
            row.notification_id, row.originator_id, row.version, row.topic, row.data
        )
        if len(self._registrations) > self.keep:
            self._registrations.popitem(last=False)
        return made


class _Registration:
    """A dossier as its registration made it (``Dossier.__init__``), from the stored state."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.code: str = state["code"]
        self.filing: dict[str, Any] = state["filing"]
        self.outcome: str = state["outcome"]
        self.terms: dict[str, Any] | None = state["terms"]
        self.missing_items: list[str] | None = state["missing_items"]
        self.refusal_reasons: str | None = state["refusal_reasons"]
        self.applicant: dict[str, Any] = state["applicant"]
        self.online: dict[str, Any] | None = state.get("online")
        self.online_steps: list[dict[str, Any]] = (
            [] if self.online is None else [{"step": "filed_online", "occurred_at": state["occurred_at"]}]
        )


def replay_reader(app: Application[Any]) -> ReplayReader:
    return ReplayReader(app)
