"""Events published by the processing service (giải quyết hồ sơ)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.contracts.base import EventBase


class CaseOpened(EventBase):
    event_type: Literal["processing.case_opened.v1"] = "processing.case_opened.v1"
    department_code: str
    due_at: AwareDatetime


class DossierDecided(EventBase):
    """The competent agency approved or rejected the dossier."""

    event_type: Literal["processing.dossier_decided.v1"] = "processing.dossier_decided.v1"
    department_code: str
    approved: bool
    reasons: str | None = None


class ResultReady(EventBase):
    """The result is ready to go back to the citizen, at the desk or by post."""

    event_type: Literal["processing.result_ready.v1"] = "processing.result_ready.v1"
    department_code: str
    postal_return: bool
    due_at: AwareDatetime
    on_time: bool = Field(description="ready at or before the appointment")
