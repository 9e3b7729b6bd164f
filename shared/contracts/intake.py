"""Events published by the intake service (tiếp nhận hồ sơ, the one-stop front desk).

At the counter a dossier ends in one of three ways (Circular 03/2025 Annex I): complete →
receipt and appointment slip (form 01, ``DossierReceived``); incomplete → one request listing
everything missing (form 02, ``CompletionRequested``); not within competence → refusal with
reasons (form 03, ``DossierRefused``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from shared.contracts.base import Channel, EventBase, SealedPersonalData

SupplementPolicy = Literal["restart", "resume"]
NotifyChannel = Literal["email", "sms", "zalo"]


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
    electronic_result: bool = False
    received_at: AwareDatetime = Field(description="when the legal clock's count begins")
    due_at: AwareDatetime = Field(description="the appointment (ngày hẹn trả)")
    tracking_hash: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 (hex) of the citizen's tracking secret printed on the receipt",
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


IntakeEvent = DossierReceived | CompletionRequested | DossierRefused
