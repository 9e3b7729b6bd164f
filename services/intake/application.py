"""Intake's commands: load, act, save (the service layer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application

from services.intake.domain import Dossier, dossier_id_for


class DossierNotFound(Exception):
    pass


class IntakeApplication(Application[Any]):
    name = "intake"
    snapshotting_intervals = {Dossier: 50}  # noqa: RUF012 - the library reads a class attribute

    def receive(
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
    ) -> Dossier:
        dossier = Dossier(
            code=code,
            procedure_code=procedure_code,
            department_code=department_code,
            receiving_point=receiving_point,
            channel=channel,
            online_level=online_level,
            postal_return=postal_return,
            legal_days=legal_days,
            legal_hours=legal_hours,
            received_at=received_at,
            due_at=due_at,
            occurred_at=occurred_at,
            backdate_reason=backdate_reason,
            actor=actor,
            applicant=applicant,
        )
        self.save(dossier)
        return dossier

    def dossier(self, code: str) -> Dossier:
        try:
            found: Dossier = self.repository.get(dossier_id_for(code))
        except AggregateNotFoundError as exc:
            raise DossierNotFound(code) from exc
        return found
