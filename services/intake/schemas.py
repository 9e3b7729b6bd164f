"""Intake's HTTP request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts import Channel, PersonalData
from shared.contracts.base import Text
from shared.host.business_time import CommandMeta, ListItem, no_actor_in_body


class DocumentTicked(BaseModel):
    """A line of the procedure's documents list the desk ticked as handed in; the form and count
    default to the list's (a citizen may bring a certified copy where an original is listed)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=40, examples=["to-khai"])
    form: Literal["original", "certified_copy", "copy"] | None = None
    count: int | None = Field(default=None, ge=1, le=99)


class Filing(CommandMeta):
    """What the citizen hands in, whatever the counter's verdict."""

    procedure_code: str = Field(min_length=1, max_length=32, examples=["STP-LLTP-01"])
    applicant: PersonalData
    channel: Channel
    online_level: Literal["full", "partial"] | None = Field(
        default=None,
        description="online dossiers: toàn trình (full) or một phần (partial); required for channel 2"
        " (online) and refused for the others (422 online_level_mismatch)",
    )
    receiving_point: str | None = Field(
        default=None, max_length=64, description="desk code; by default the provincial centre"
    )
    pickup_reference: str | None = Field(
        default=None,
        max_length=64,
        description="postal channel: the pickup (BC-…) that brought it; its handover is the receipt time",
    )
    documents: list[DocumentTicked] | None = Field(
        default=None,
        max_length=50,
        description="the papers handed in (the procedure's documents list, ticked); when given, a "
        "dossier missing a required one cannot be received, only asked to complete",
    )


class ReceiveDossierRequest(Filing):
    """Tiếp nhận: a complete dossier (form 01, receipt and appointment slip)."""

    postal_return: bool = Field(default=False, description="return the result by post")
    paid_online: bool = Field(default=False, description="fees paid through online payment")
    documents_scanned: bool = Field(default=True, description="paper documents scanned at receipt")
    scanned_documents: list[UUID] = Field(
        default_factory=list,
        max_length=50,
        description="ids from POST /dossiers/scans: the scans stored, sealed, with the dossier",
    )
    notify_channel: Literal["email", "sms", "zalo"] | None = Field(
        default=None,
        description="tell the citizen of supplements, apologies, the result and failed deliveries:"
        " by e-mail (needs applicant.email) or SMS / Zalo (need applicant.phone); none: not told",
    )

    @model_validator(mode="after")
    def _contact_for_channel(self) -> ReceiveDossierRequest:
        _check_contact(self.notify_channel, self.applicant)
        return self


def _check_contact(channel: str | None, applicant: Any) -> None:
    """The contact a channel needs must be given with the applicant (sealed with it)."""
    wanted = {"email": "email", "sms": "phone", "zalo": "phone"}.get(channel or "")
    if wanted and not getattr(applicant, wanted):
        raise ValueError(f"notify_channel {channel} needs applicant.{wanted}")


class IncompleteDossierRequest(Filing):
    """Hướng dẫn bổ sung: everything missing, listed at once (form 02)."""

    missing_items: list[ListItem] = Field(min_length=1, max_length=50)


class RefuseDossierRequest(Filing):
    """Từ chối tiếp nhận: not within competence or not eligible (form 03)."""

    reasons: Text = Field(min_length=1, max_length=4000)


class CompleteDossierRequest(CommandMeta):
    """The citizen is back with everything that was missing: the dossier is received now."""

    model_config = ConfigDict(extra="forbid")

    postal_return: bool = False
    paid_online: bool = False
    documents_scanned: bool = True


class StatusPointer(BaseModel):
    """Where the dossier's current status lives (intake keeps only the desk's record)."""

    service: str
    path: str
    what: str


class DossierView(BaseModel):
    """The desk's record of a dossier: what happened at the counter, not its status now.

    Intake does not follow the dossier once it is received: its state in the department, the
    decision and the return of the result are processing's (``GET /dossiers/{code}`` there), and
    the whole history across services is scoring's. ``record``, ``note`` and ``current_status_at``
    say so in every answer, so nobody reads ``outcome: received`` as the dossier's status.
    """

    code: str
    dossier_id: UUID
    outcome: str
    national_status: int
    procedure_code: str
    department_code: str
    receiving_point: str
    channel: Channel
    online_level: str | None
    notify_channel: str | None = None
    registered_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    recorded_at: datetime
    backdate_reason: str | None
    missing_items: list[str] | None
    refusal_reasons: str | None
    documents: list[dict[str, Any]] | None = Field(
        default=None, description="the papers handed in (name, form, count); None before the checklist"
    )
    terms: dict[str, Any] | None
    registered_by: dict[str, Any]
    applicant: ApplicantView
    forms: list[str]
    online: dict[str, Any] | None = Field(
        default=None, description="filed online: the documents uploaded (id, type, size, SHA-256)"
    )
    tracking_secret: str | None = Field(
        default=None,
        description="mã tra cứu for the citizen: in the answer that receives the dossier only, never again",
    )
    record: Literal["desk"] = Field(default="desk", description="this is the desk's record only")
    note: dict[str, str] = Field(default_factory=dict, description="what this record is, vi and en")
    current_status_at: list[StatusPointer] = Field(default_factory=list)


class ApplicantView(BaseModel):
    """The applicant as a reader sees it: in clear, or ``[đã xóa / erased]`` once erased."""

    full_name: str
    citizen_id: str
    date_of_birth: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str
    erased: bool = False


class ErasureRequest(BaseModel):
    """Xóa dữ liệu cá nhân: the data protection officer (or ops) erases a data subject's key."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(
        min_length=1, max_length=2000, description="the data subject's request, its reference"
    )
    legal_obligation: str | None = Field(
        default=None,
        max_length=2000,
        description="the legal obligation to erase during the retention period (decision, article)",
    )


class OnlineFilingRequest(BaseModel):
    """Nộp hồ sơ trực tuyến: a citizen files for a procedure offered online. Who files is the
    token's citizen; the documents are uploads of theirs not yet part of another filing."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        return no_actor_in_body(data)

    procedure_code: str = Field(min_length=1, max_length=32, examples=["LLTP"])
    applicant: PersonalData
    receiving_point: str | None = Field(
        default=None, max_length=64, description="the desk that checks it; by default the provincial centre"
    )
    documents: list[UUID] = Field(max_length=50, description="ids from POST /online/documents")
    postal_return: bool = Field(default=False, description="the result by post")
    notify_channel: Literal["email", "sms", "zalo"] | None = Field(
        default=None,
        description="tell the citizen of supplements, apologies, the result and failed deliveries:"
        " by e-mail (needs applicant.email) or SMS / Zalo (need applicant.phone); none: not told",
    )

    @model_validator(mode="after")
    def _contact_for_channel(self) -> OnlineFilingRequest:
        _check_contact(self.notify_channel, self.applicant)
        return self


class ReceiveOnlineRequest(CommandMeta):
    """The desk receives a filing made online: the legal clock starts (form 01)."""

    paid_online: bool = Field(default=False, description="fees paid through online payment")


class IncompleteOnlineRequest(CommandMeta):
    """The desk asks for everything missing, at once (form 02)."""

    missing_items: list[ListItem] = Field(min_length=1, max_length=50)


class RefuseOnlineRequest(CommandMeta):
    """The desk refuses the filing, with reasons (form 03)."""

    reasons: str = Field(min_length=1, max_length=4000)


class CompleteOnlineRequest(BaseModel):
    """The citizen adds, online, the documents the desk asked for: the filing goes back to the
    desk's queue."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        return no_actor_in_body(data)

    documents: list[UUID] = Field(min_length=1, max_length=50, description="ids from POST /online/documents")
