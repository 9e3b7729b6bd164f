"""Events published by the intake service (tiếp nhận hồ sơ)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.contracts.base import Channel, EventBase, PersonalData


class DossierReceived(EventBase):
    """A complete dossier was received and an appointment slip issued (Circular 03/2025 form 01)."""

    event_type: Literal["intake.dossier_received.v1"] = "intake.dossier_received.v1"
    procedure_code: str
    department_code: str = Field(description="competent agency")
    receiving_point: str = Field(description="the desk that received it; may differ from the agency")
    channel: Channel
    online_level: Literal["full", "partial"] | None = None
    postal_return: bool = Field(description="the citizen asked for the result by post")
    legal_days: int | None = None
    legal_hours: int | None = None
    received_at: AwareDatetime = Field(description="when the legal clock starts")
    due_at: AwareDatetime = Field(description="the appointment (ngày hẹn trả)")
    applicant: PersonalData


IntakeEvent = DossierReceived
