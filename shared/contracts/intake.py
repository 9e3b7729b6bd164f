"""Events published by the intake service (tiếp nhận hồ sơ, the one-stop front desk).

At the counter a dossier ends in one of three ways (Circular 03/2025 Annex I): complete →
receipt and appointment slip (form 01, ``DossierReceived``); incomplete → one request listing
everything missing (form 02, ``CompletionRequested``); not within competence → refusal with
reasons (form 03, ``DossierRefused``).
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from shared.contracts.base import Channel, Contract, EventBase, SealedPersonalData

SupplementPolicy = Literal["restart", "resume"]
NotifyChannel = Literal["email", "sms", "zalo"]


class ScannedDocument(Contract):
    """A paper scanned at the counter and stored, sealed under the applicant's data key, by the
    agency (its id and SHA-256 here, never its bytes): the digitised dossier (Decree 118 Art. 17)."""

    document_id: UUID
    name: str = Field(min_length=1, max_length=300)
    media_type: str = Field(max_length=100)
    size: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the scan's bytes")


class DocumentHandedIn(Contract):
    """One paper the applicant handed in at the counter (thành phần hồ sơ), as form 01 lists it.

    ``id`` is the line of the procedure's documents list it answers (None for a paper the list
    does not name); the name is repeated so that the event stands on its own when the catalogue
    changes."""

    id: str | None = Field(default=None, max_length=40)
    name: str = Field(min_length=1, max_length=300)
    form: Literal["original", "certified_copy", "copy"] = Field(
        description="bản chính / bản sao có chứng thực / bản chụp"
    )
    count: int = Field(ge=1, le=99)


class DossierFiled(EventBase):
    """Fields every intake event repeats, so that each one stands on its own in the log.

    Version 2 carries the applicant sealed (``SealedPersonalData``); version 1 carried it in
    clear text. A v1 message still in a stream or a dead-letter table is read without its
    applicant: no consumer keeps personal data it cannot protect.
    """

    procedure_code: str
    department_code: str = Field(description="competent agency")
    receiving_point: str = Field(description="the desk that received it; may differ from the agency")
    channel: Channel
    online_level: Literal["full", "partial"] | None = None
    applicant: SealedPersonalData | None = Field(description="None only in a v1 event")
    documents: list[DocumentHandedIn] | None = Field(
        default=None,
        description="the papers handed in, as the desk ticked them; None in events recorded before "
        "the desk kept its checklist (and in v1 events)",
    )
    notify_channel: NotifyChannel | None = Field(
        default=None,
        description="how the citizen chose to be told of their dossier (none: not told); the"
        " address is the applicant's e-mail or phone, sealed with the applicant",
    )

    @model_validator(mode="before")
    @classmethod
    def _upcast_v1(cls, data: Any) -> Any:
        if isinstance(data, dict) and str(data.get("event_type", "")).endswith(".v1"):
            return {**data, "applicant": None}
        return data

    @model_validator(mode="after")
    def _sealed_from_v2(self) -> DossierFiled:
        if self.applicant is None and not self.event_type.endswith(".v1"):
            raise ValueError("applicant: a v2 intake event carries the sealed applicant")
        return self


class FilingStep(Contract):
    """A step of an online filing at intake, before the desk received it."""

    step: Literal["filed_online", "completion_requested", "completed_online"]
    occurred_at: AwareDatetime


class DossierRegistered(DossierFiled):
    """Filed online (national status 1, mới đăng ký): waiting for the desk to check it.

    Published when a citizen files, and again when they complete online what the desk asked
    for (``completed_online``). Consumers that act only on received dossiers ignore it. It
    carries no applicant: nothing needs one before the desk has received the dossier.
    """

    event_type: Literal["intake.dossier_registered.v1"] = "intake.dossier_registered.v1"
    document_count: int = Field(ge=0, description="documents uploaded so far")
    completed_online: bool = Field(
        default=False, description="filed again online after the desk asked to complete it"
    )


class DossierReceived(DossierFiled):
    """A complete dossier was received and an appointment slip issued (form 01)."""

    event_type: Literal["intake.dossier_received.v2", "intake.dossier_received.v1"] = (
        "intake.dossier_received.v2"
    )
    postal_return: bool = Field(description="the citizen asked for the result by post")
    legal_days: int | None = None
    legal_hours: int | None = None
    same_day: bool = Field(
        default=False, description="due by the end of the receipt's working day (after the cut-off: the next)"
    )
    same_day_cutoff: str | None = Field(default=None, description='"HH:MM" local cut-off')
    supplement_policy: SupplementPolicy = "restart"
    calendar: str = Field(default="standard", description="named working calendar (office hours)")
    agency_shares: dict[str, int] | None = Field(
        default=None, description="liên thông: working days per agency"
    )
    fee_vnd: int = 0
    paid_online: bool = False
    documents_scanned: bool = Field(default=True, description="paper scanned at receipt (Decree 118 Art. 17)")
    scanned_documents: list[ScannedDocument] = Field(
        default_factory=list,
        description="the scans stored at the counter (empty: none stored, or recorded before scans"
        " were stored, when only ``documents_scanned`` says so)",
    )
    electronic_result: bool = False
    received_at: AwareDatetime = Field(description="when the legal clock's count begins")
    due_at: AwareDatetime = Field(description="the appointment (ngày hẹn trả)")
    tracking_hash: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the citizen's tracking secret printed on the receipt",
    )
    filing_steps: list[FilingStep] = Field(
        default_factory=list,
        description="filed online: the steps at intake before this receipt, for the citizen's history",
    )
    pickup_reference: str | None = Field(
        default=None,
        max_length=64,
        description="postal channel: the pickup (BC-…) that brought the dossier to the desk",
    )


class CompletionRequested(DossierFiled):
    """Incomplete at the counter: everything missing, listed at once (form 02)."""

    event_type: Literal["intake.completion_requested.v2", "intake.completion_requested.v1"] = (
        "intake.completion_requested.v2"
    )
    missing_items: list[str] = Field(min_length=1)


class DossierRefused(DossierFiled):
    """Not received: not within competence, or not eligible, with reasons (form 03)."""

    event_type: Literal["intake.dossier_refused.v2", "intake.dossier_refused.v1"] = (
        "intake.dossier_refused.v2"
    )
    reasons: str = Field(min_length=1)


IntakeEvent = DossierRegistered | DossierReceived | CompletionRequested | DossierRefused
