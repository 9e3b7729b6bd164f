"""Processing's commands: load the case, act, save (the service layer)."""

from __future__ import annotations

from collections.abc import Callable
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
        procedure_code: str,
        legal_days: int | None,
        legal_hours: int | None,
        same_day_cutoff: str | None,
        supplement_policy: str,
        agency_shares: dict[str, int] | None,
        received_at: datetime,
        due_at: datetime,
        postal_return: bool,
        occurred_at: datetime,
        actor: dict[str, Any],
        calendar: str = "standard",
    ) -> bool:
        """Opens the case once; a redelivered dossier finds it open and changes nothing."""
        if self.has_case(dossier_code):
            return False
        case = Case(
            dossier_id=dossier_id,
            dossier_code=dossier_code,
            department_code=department_code,
            procedure_code=procedure_code,
            legal_days=legal_days,
            legal_hours=legal_hours,
            same_day_cutoff=same_day_cutoff,
            supplement_policy=supplement_policy,
            agency_shares=agency_shares,
            received_at=received_at,
            due_at=due_at,
            postal_return=postal_return,
            occurred_at=occurred_at,
            actor=actor,
            calendar=calendar,
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

    def act(self, dossier_code: str, action: Callable[[Case], None]) -> Case:
        """Loads the case, runs one domain command on it and saves the events it recorded.

        Two officers acting at once on the same case: the second save conflicts on the
        aggregate version and is retried on the fresh case, whose rules decide again.
        """
        for _ in range(3):
            case = self.case(dossier_code)
            action(case)
            try:
                self.save(case)
            except IntegrityError:
                continue
            return case
        raise RuntimeError(f"case {dossier_code} kept changing under concurrent commands")

    def history(self, dossier_code: str) -> list[Any]:
        """Every stored event of the case, oldest first: the control sheet's rows."""
        return list(self.events.get(case_id_for(dossier_code)))
