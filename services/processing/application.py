"""Processing's commands: load the case, act, save (the service layer)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from services.processing.case_commands import CaseCommand, OpenCase
from services.processing.domain import Case, case_id_for
from services.processing.rules import CaseRuleViolation
from services.processing.transcodings import register_case_transcodings

log = logging.getLogger(__name__)


class CaseNotFound(Exception):
    pass


class ProcessingApplication(Application[Any]):
    name = "processing"

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_case_transcodings(transcoder)

    def open_case(self, opening: OpenCase) -> bool:
        """Opens the case once; a redelivered dossier finds it open and changes nothing.

        The case's id follows from the dossier code, so a second opening collides on the
        store's unique key: no read is needed first.
        """
        try:
            self.save(Case.open(opening))
        except IntegrityError:
            return False
        return True

    def open_cases(self, openings: Iterable[OpenCase]) -> set[str]:
        """Opens many cases with one save (one transaction, one table lock); returns the dossier
        codes whose case is open afterwards, whether opened now or before.

        One case already open would make the whole save fail on the store's unique key (a
        redelivered batch), so then the open ones are looked up and the rest saved together.
        Anything else is not decided here: a case that cannot be built or saved is left out of
        the answer, and ``open_case`` meets the same trouble on that dossier's own message.
        """
        cases = _build(openings)
        already: set[UUID] = set()
        try:
            try:
                self.save(*(case for _, case in cases.values()))
            except IntegrityError:
                already = {case_id for case_id in cases if self.recorder.select_events(case_id, limit=1)}
                # The failed save took the cases' pending events with it: build them again.
                rest = _build(opening for case_id, (opening, _) in cases.items() if case_id not in already)
                if rest:
                    self.save(*(case for _, case in rest.values()))
        except Exception:  # a concurrent opener or a transient fault: open_case decides
            log.info("%d cases could not open together; they open one by one", len(cases), exc_info=True)
            return {cases[case_id][1].dossier_code for case_id in already}
        return {case.dossier_code for _, case in cases.values()}

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

    def execute(self, command: CaseCommand, guard: Callable[[Case], None] | None = None) -> Case:
        """Runs one command on its case and saves what it recorded (``act``). ``guard`` (who may
        act on this case, what the API checks beyond the case's rules) is asked on the case as
        loaded, again on each retry: a concurrent transfer may have moved the case away."""

        def action(case: Case) -> None:
            if guard is not None:
                guard(case)
            command.apply_to(case)

        return self.act(command.dossier_code, action)

    def act_on_each(self, dossier_codes: Iterable[str], action: Callable[[Case], None]) -> list[str]:
        """Runs one command on many cases and saves what they recorded together: one transaction
        for a sweep, not one per case. Returns the codes of the cases it changed.

        A case whose rules refuse the command (resolved or paused meanwhile), or that is gone, is
        left as it is. If a command changed one of them between load and save, the shared save
        fails on that case's version; each case is then redone alone on its fresh state.
        """
        changed: list[Case] = []
        for code in dossier_codes:
            try:
                case = self.case(code)
                action(case)
            except (CaseNotFound, CaseRuleViolation):
                continue
            changed.append(case)
        if not changed:
            return []
        try:
            self.save(*changed)
        except IntegrityError:
            done: list[str] = []
            for case in changed:
                try:
                    self.act(case.dossier_code, action)
                except (CaseNotFound, CaseRuleViolation):
                    continue
                done.append(case.dossier_code)
            return done
        return [case.dossier_code for case in changed]

    def history(self, dossier_code: str) -> list[Any]:
        """Every stored event of the case, oldest first: the control sheet's rows."""
        return list(self.events.get(case_id_for(dossier_code)))

    def case_and_history(self, dossier_code: str) -> tuple[Case, list[Any]]:
        """The case and every event it was folded from, read once (history, forms, tracking)."""
        events = self.history(dossier_code)
        case: Case | None = None
        for e in events:
            case = e.mutate(case)
        if case is None:
            raise CaseNotFound(dossier_code)
        return case, events


def _build(openings: Iterable[OpenCase]) -> dict[UUID, tuple[OpenCase, Case]]:
    cases: dict[UUID, tuple[OpenCase, Case]] = {}
    for opening in openings:
        try:
            case = Case.open(opening)
        except Exception:  # open_case raises it again, for this dossier alone
            log.debug("case %s left to open alone", opening.dossier_code, exc_info=True)
            continue
        cases.setdefault(case.id, (opening, case))
    return cases
