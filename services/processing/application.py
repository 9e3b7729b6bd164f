"""Processing's commands: load, act, save."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.processing.domain import Case, case_id_for


class CaseNotFound(Exception):
    pass


class ProcessingApplication(Application[Any]):
    name = "processing"

    def open_case(
        self,
        *,
        dossier_id: UUID,
        dossier_code: str,
        department_code: str,
        due_at: datetime,
        postal_return: bool,
        occurred_at: datetime,
        actor: dict[str, Any],
    ) -> bool:
        """Opens the case once; a redelivered dossier finds it open and changes nothing."""
        if self.has_case(dossier_code):
            return False
        case = Case(
            dossier_id=dossier_id,
            dossier_code=dossier_code,
            department_code=department_code,
            due_at=due_at,
            postal_return=postal_return,
            occurred_at=occurred_at,
            actor=actor,
        )
        try:
            self.save(case)
        except IntegrityError:  # a concurrent delivery opened it first
            return False
        return True

    def has_case(self, dossier_code: str) -> bool:
        try:
            self.repository.get(case_id_for(dossier_code))
        except AggregateNotFoundError:
            return False
        return True

    def case(self, dossier_code: str) -> Case:
        try:
            found: Case = self.repository.get(case_id_for(dossier_code))
        except AggregateNotFoundError as exc:
            raise CaseNotFound(dossier_code) from exc
        return found

    def decide(
        self,
        dossier_code: str,
        *,
        approved: bool,
        reasons: str | None,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> Case:
        case = self.case(dossier_code)
        case.decide(
            approved=approved,
            reasons=reasons,
            occurred_at=occurred_at,
            backdate_reason=backdate_reason,
            actor=actor,
        )
        self.save(case)
        return case

    def make_result_ready(
        self,
        dossier_code: str,
        *,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> Case:
        case = self.case(dossier_code)
        case.make_result_ready(occurred_at=occurred_at, backdate_reason=backdate_reason, actor=actor)
        self.save(case)
        return case
