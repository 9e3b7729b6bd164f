"""The commands the API hands to processing's application: frozen, run on their case by
``execute`` after the route's guard, and saved (in memory here: no database)."""

from __future__ import annotations

import dataclasses

import pytest

from services.processing import case_commands as cc
from services.processing.application import CaseNotFound, ProcessingApplication
from services.processing.domain import Case
from services.processing.rules import InvalidTransition
from services.processing.values import CaseState, ReturnVia
from tests.unit.test_case_rules import at, new_case

CODE = "000.00.01.H99-260302-0001"  # new_case's dossier


def _opened() -> ProcessingApplication:
    app = ProcessingApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.save(new_case())
    return app


def test_a_command_is_run_on_its_case_and_saved() -> None:
    app = _opened()
    app.execute(cc.Assign(dossier_code=CODE, meta=at(1), officer="cb.an"))
    app.execute(cc.Decide(dossier_code=CODE, meta=at(2), approved=True, reasons=None))
    case = app.case(CODE)
    assert case.officer == "cb.an" and case.state == CaseState.DECIDED and case.version == 3


def test_the_guard_is_asked_first_and_a_refusal_saves_nothing() -> None:
    app = _opened()
    seen: list[int] = []

    def refuse(case: Case) -> None:
        seen.append(case.version)
        raise PermissionError("not this caller's dossier")

    with pytest.raises(PermissionError):
        app.execute(cc.Assign(dossier_code=CODE, meta=at(1), officer="cb.an"), refuse)
    assert seen == [1] and app.case(CODE).version == 1


def test_the_case_rules_still_decide() -> None:
    app = _opened()
    command = cc.ReturnResult(dossier_code=CODE, meta=at(1), via=ReturnVia.DESK, received_by=None)
    with pytest.raises(InvalidTransition):
        app.execute(command)
    with pytest.raises(CaseNotFound):
        app.execute(dataclasses.replace(command, dossier_code="no-such-dossier"))


def test_commands_are_frozen() -> None:
    command = cc.RequestSupplement(dossier_code=CODE, meta=at(1), missing_items=("CCCD",), reason="thiếu")
    with pytest.raises(dataclasses.FrozenInstanceError):
        command.reason = "khác"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        command.meta.occurred_at = at(2).occurred_at  # type: ignore[misc]
