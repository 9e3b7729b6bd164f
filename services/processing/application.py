"""Processing's commands: load the case, act, save (the service layer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.processing.domain import Case, case_id_for


class CaseNotFound(Exception):
    pass


class ProcessingApplication(Application[Any]):
    name = "processing"

    def open_case(self, **fields: Any) -> bool:
        """Opens the case once; a redelivered dossier finds it open and changes nothing.

        The case's id follows from the dossier code, so a second opening collides on the
        store's unique key: no read is needed first.
        """
        try:
            self.save(Case(**fields))
        except IntegrityError:
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
