"""The dossier as the front desk sees it (hồ sơ tại bộ phận một cửa). No I/O here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

DOSSIER_NAMESPACE = uuid5(NAMESPACE_URL, "https://motcua.vn/dossier")


def dossier_id_for(code: str) -> UUID:
    """Dossier codes are never reused, so the code determines the aggregate's id."""
    return uuid5(DOSSIER_NAMESPACE, code)


class Dossier(Aggregate):
    """Hồ sơ: one citizen's or business's filing for one administrative procedure."""

    @staticmethod
    def create_id(code: str) -> UUID:  # type: ignore[override]
        return dossier_id_for(code)

    @event("Received")
    def __init__(
        self,
        *,
        code: str,
        procedure_code: str,
        department_code: str,
        receiving_point: str,
        channel: int,
        online_level: str | None,
        postal_return: bool,
        legal_days: int | None,
        legal_hours: int | None,
        received_at: datetime,
        due_at: datetime,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
        applicant: dict[str, Any],
    ) -> None:
        self.code = code
        self.procedure_code = procedure_code
        self.department_code = department_code
        self.receiving_point = receiving_point
        self.channel = channel
        self.online_level = online_level
        self.postal_return = postal_return
        self.legal_days = legal_days
        self.legal_hours = legal_hours
        self.received_at = received_at
        self.due_at = due_at
        self.occurred_at = occurred_at
        self.backdate_reason = backdate_reason
        self.received_by = actor
        self.applicant = applicant
