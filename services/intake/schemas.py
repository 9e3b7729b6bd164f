"""Intake's HTTP request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.contracts import Actor, Channel, PersonalData


class ReceiveDossierRequest(BaseModel):
    """Tiếp nhận hồ sơ: a complete dossier handed in at a desk, online or by post."""

    model_config = ConfigDict(extra="forbid")

    procedure_code: str = Field(min_length=1, max_length=32, examples=["1.001234"])
    applicant: PersonalData
    channel: Channel
    online_level: Literal["full", "partial"] | None = Field(
        default=None, description="for online dossiers: toàn trình (full) or một phần (partial)"
    )
    postal_return: bool = Field(default=False, description="return the result by post")
    receiving_point: str | None = Field(
        default=None, max_length=64, description="desk code; defaults to the provincial centre"
    )
    actor: Actor
    occurred_at: AwareDatetime | None = Field(
        default=None, description="business time, if entered late (needs backdate_reason)"
    )
    backdate_reason: str | None = Field(default=None, max_length=1000)


class DossierView(BaseModel):
    code: str
    dossier_id: UUID
    procedure_code: str
    department_code: str
    receiving_point: str
    channel: Channel
    online_level: str | None
    postal_return: bool
    received_at: datetime
    due_at: datetime
    occurred_at: datetime
    recorded_at: datetime
    backdate_reason: str | None
    received_by: Actor
    applicant: PersonalData
