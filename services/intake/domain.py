"""The dossier as the front desk sees it (hồ sơ tại bộ phận một cửa). No I/O here.

At the counter a dossier ends one of three ways (Circular 03/2025 Annex I): complete → receipt
and appointment slip (form 01); incomplete → a request listing everything missing at once
(form 02), after which the citizen may come back with the complete dossier; not within
competence → refusal with reasons (form 03). Every dossier gets its code at registration, so
the citizen can quote it whatever the outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

# Dossier codes are never reused, so the code determines the aggregate's id (shared: every
# service finds a dossier's events on the bus from its code).
from shared.contracts.ids import DOSSIER_NAMESPACE, dossier_id_for

__all__ = [
    "CHECK_OUTCOMES",
    "DOSSIER_NAMESPACE",
    "Dossier",
    "NotIncomplete",
    "NotRegistered",
    "dossier_id_for",
]

# What the desk may make of a dossier filed online: the counter's three outcomes.
CHECK_OUTCOMES = ("received", "incomplete", "refused")


class NotIncomplete(Exception):
    """Only a dossier waiting for completion at the counter can be completed."""

    def __init__(self, outcome: str) -> None:
        super().__init__(f"the dossier is {outcome}, not waiting for completion")
        self.outcome = outcome


class NotAskedToComplete(Exception):
    """Only an online filing the desk asked to complete can be completed online."""

    def __init__(self, outcome: str) -> None:
        super().__init__(f"the filing is {outcome}, not waiting for the citizen to complete it")
        self.outcome = outcome


class NotRegistered(Exception):
    """Only a dossier filed online and not yet checked by the desk can be checked."""

    def __init__(self, outcome: str) -> None:
        super().__init__(f"the dossier is {outcome}, not an online filing waiting for the desk")
        self.outcome = outcome


class Dossier(Aggregate):
    """Hồ sơ: one citizen's or business's filing for one administrative procedure."""

    @staticmethod
    def create_id(code: str) -> UUID:
        return dossier_id_for(code)

    # No bare ``*``: the event library treats every keyword-only parameter as required, default
    # or not, and ``online`` must be optional (dossiers registered before online filing lack it).
    @event("Registered")
    def __init__(
        self,
        code: str,
        filing: dict[str, Any],
        outcome: str,
        terms: dict[str, Any] | None,
        missing_items: list[str] | None,
        refusal_reasons: str | None,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
        applicant: dict[str, Any],
        online: dict[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.filing = filing  # procedure, department, desk, channel, online level, postal return
        self.outcome = outcome  # received | incomplete | refused
        self.terms = terms  # legal time, policy, appointment — set once received
        self.missing_items = missing_items
        self.refusal_reasons = refusal_reasons
        self.registered_at = occurred_at
        self.received_at: datetime | None = occurred_at if outcome == "received" else None
        self.backdate_reason = backdate_reason
        self.registered_by = actor
        # Sealed (``SealedPersonalData`` as a dict): the stored events and snapshots never hold
        # the applicant in clear. Dossiers recorded before encryption hold a clear dict.
        self.applicant = applicant
        # Filed online (outcome "registered"): the documents uploaded (id, type, size, SHA-256)
        # and the hash of the tracking secret the citizen was given; None at the counter.
        self.online = online
        self.checked_at: datetime | None = None
        # What the citizen did and was told online before the desk received it: the tracking
        # page keeps showing these steps once processing has the case (they travel on the receipt).
        self.online_steps: list[dict[str, Any]] = (
            [] if online is None else [{"step": "filed_online", "occurred_at": occurred_at}]
        )
        self.completed_online_at: datetime | None = None

    @property
    def filed_online(self) -> bool:
        return self.online is not None

    @property
    def filed_at(self) -> datetime:
        """When the filing the desk now checks was made: the registration, or the last time the
        citizen completed it online."""
        return getattr(self, "completed_online_at", None) or self.registered_at

    def complete_online(
        self, *, documents: list[dict[str, Any]], occurred_at: datetime, actor: dict[str, Any]
    ) -> None:
        """The citizen uploads what the desk asked for and files again: the filing goes back to
        the desk's queue (national status 1) to be checked under the same rules."""
        if self.online is None or self.outcome != "incomplete":
            raise NotAskedToComplete(self.outcome if self.online is not None else "not filed online")
        if not documents:
            raise ValueError("completing online adds at least one document")
        self._completed_online(
            documents=documents, occurred_at=occurred_at, backdate_reason=None, actor=actor
        )

    @event("CompletedOnline")
    def _completed_online(
        self,
        documents: list[dict[str, Any]],
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.outcome = "registered"
        self.online = {
            **(self.online or {}),
            "documents": [*(self.online or {}).get("documents", []), *documents],
        }
        self.completed_online_at = occurred_at
        self._step("completed_online", occurred_at)

    def _step(self, step: str, at: datetime) -> None:
        # dossiers snapshotted before online steps were kept have none
        self.online_steps = [*getattr(self, "online_steps", []), {"step": step, "occurred_at": at}]

    def check(
        self,
        *,
        outcome: str,
        terms: dict[str, Any] | None,
        missing_items: list[str] | None,
        refusal_reasons: str | None,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        """The desk's verdict on a dossier filed online, as at the counter: received (with its
        terms), asked to complete (everything missing at once) or refused (with reasons)."""
        if self.outcome != "registered":
            raise NotRegistered(self.outcome)
        if outcome not in CHECK_OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        if (outcome == "received") != (terms is not None):
            raise ValueError("terms are given exactly when the dossier is received")
        if outcome == "incomplete" and not missing_items:
            raise ValueError("a completion request lists what is missing")
        if outcome == "refused" and not (refusal_reasons or "").strip():
            raise ValueError("a refusal gives its reasons")
        if occurred_at < self.filed_at:
            raise ValueError("the desk cannot check a filing before it was filed")
        self._checked(
            outcome=outcome,
            terms=terms,
            missing_items=missing_items,
            refusal_reasons=refusal_reasons,
            occurred_at=occurred_at,
            backdate_reason=backdate_reason,
            actor=actor,
        )

    @event("Checked")
    def _checked(
        self,
        outcome: str,
        terms: dict[str, Any] | None,
        missing_items: list[str] | None,
        refusal_reasons: str | None,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.outcome = outcome
        self.terms = terms
        self.missing_items = missing_items
        self.refusal_reasons = refusal_reasons
        self.checked_at = occurred_at
        if outcome == "incomplete":
            self._step("completion_requested", occurred_at)
        if outcome == "received" and terms is not None:
            self.received_at = terms["received_at"]

    def complete(
        self,
        *,
        terms: dict[str, Any],
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        if self.outcome != "incomplete":
            raise NotIncomplete(self.outcome)
        self._completed(terms=terms, occurred_at=occurred_at, backdate_reason=backdate_reason, actor=actor)

    @event("Completed")
    def _completed(
        self,
        terms: dict[str, Any],
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.outcome = "received"
        self.terms = terms
        self.received_at = occurred_at

    def record_erasure(
        self,
        *,
        key_ref: str,
        dossier_codes: list[str],
        reason: str,
        legal_obligation: str | None,
        occurred_at: datetime,
        actor: dict[str, Any],
    ) -> None:
        """The subject's key was erased (crypto-shredding): the fact, not the data, is kept."""
        self._personal_data_erased(
            key_ref=key_ref,
            dossier_codes=dossier_codes,
            reason=reason,
            legal_obligation=legal_obligation,
            occurred_at=occurred_at,
            backdate_reason=None,
            actor=actor,
        )

    @event("PersonalDataErased")
    def _personal_data_erased(
        self,
        key_ref: str,
        dossier_codes: list[str],
        reason: str,
        legal_obligation: str | None,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.personal_data_erased_at = occurred_at

    def national_status(self) -> int:
        """TrangThaiHoSo at the desk: 1 registered online (waiting for the desk), 2 received,
        3 not received, 5 asked to complete."""
        return {"registered": 1, "received": 2, "refused": 3, "incomplete": 5}[self.outcome]
