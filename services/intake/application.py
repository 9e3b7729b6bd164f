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

    def register(
        self,
        *,
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
    ) -> Dossier:
        dossier = Dossier(
            code=code,
            filing=filing,
            outcome=outcome,
            terms=terms,
            missing_items=missing_items,
            refusal_reasons=refusal_reasons,
            occurred_at=occurred_at,
            backdate_reason=backdate_reason,
            actor=actor,
            applicant=applicant,
        )
        self.save(dossier)
        return dossier

    def complete(
        self,
        code: str,
        *,
        terms: dict[str, Any],
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> Dossier:
        dossier = self.dossier(code)
        dossier.complete(terms=terms, occurred_at=occurred_at, backdate_reason=backdate_reason, actor=actor)
        self.save(dossier)
        return dossier

    def dossier(self, code: str) -> Dossier:
        try:
            found: Dossier = self.repository.get(dossier_id_for(code))
        except AggregateNotFoundError as exc:
            raise DossierNotFound(code) from exc
        return found

    def history(self, code: str) -> list[Any]:
        return list(self.events.get(dossier_id_for(code)))
