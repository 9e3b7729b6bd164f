"""From processing's stored domain events to the published contracts.

Published events carry the appointment in force after each step, which only the legal clock
over the whole case can tell: each is translated with the case as it stood after it.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from services.processing import clock_facts
from services.processing.domain import Case, step_meta
from shared.clock.legal_clock import GrowingClock
from shared.contracts import (
    Actor,
    AnyEvent,
    ApologyIssued,
    CaseOpened,
    CaseTransferred,
    ClosedForNoSupplement,
    DossierDecided,
    LeadershipAcknowledged,
    LeadershipReported,
    MarkedOverdue,
    OfficerAssigned,
    ProcessingStopped,
    ResultBackAtDesk,
    ResultReady,
    ResultReturned,
    SupplementReceived,
    SupplementRequested,
    event_id,
)
from shared.contracts.processing import ClockStamp
from shared.eventlog.translator import ReplayingTranslator

# The library creates Case's event classes from its @event methods; mypy cannot see them.
Events: Any = Case


class CaseClocks:
    """The clocks of the cases translated lately: a case's steps come in order, so each step
    replays only the clock facts added since the previous one (not the case's whole clock)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._clocks: OrderedDict[UUID, GrowingClock] = OrderedDict()

    def of(self, case: Case) -> GrowingClock:
        clock = self._clocks.pop(case.id, None)
        self._clocks[case.id] = clock = case.new_clock() if clock is None else clock
        if len(self._clocks) > self.size:
            self._clocks.popitem(last=False)
        return clock


def case_contract(e: Any, case: Case, clocks: CaseClocks | None = None) -> AnyEvent | None:
    meta = step_meta(e)
    at = meta["occurred_at"]
    # Steps stored with their clock reading are translated without the clock; older steps (and
    # the opening, which has no meta) read it, growing the case's clock step by step.
    stamp: dict[str, Any] | None = meta.get("clock")
    if stamp is None:
        stamp = clock_facts.stamp(case.read_clock(at, None if clocks is None else clocks.of(case)))
    common: dict[str, Any] = {
        "event_id": event_id("processing", e.originator_id, e.originator_version),
        "dossier_id": case.dossier_id,
        "dossier_code": case.dossier_code,
        "occurred_at": at,
        "recorded_at": e.timestamp,
        "actor": Actor(**meta["actor"]),
        "backdate_reason": meta.get("backdate_reason"),
        "department_code": case.department_code,
        "due_at": stamp["due_at"],
        "clock": clock_stamp(stamp, case.calendar),
    }
    return _contract(e, case, common, stamp)


def clock_stamp(stamp: dict[str, Any], calendar: str) -> ClockStamp:
    """The reading as published: a consumer counts from it instead of re-running the clock.

    Built without validation: every value comes from the clock itself, not from outside.
    """
    return ClockStamp.model_construct(
        working_minutes=stamp["working_minutes"],
        minutes_left=stamp["minutes_left"],
        supplement_minutes=stamp["supplement_minutes"],
        paused=stamp["paused"],
        status=stamp["status"],
        late=stamp["late"],
        late_reasons_en=list(stamp["late_reasons_en"]),
        late_reasons_vi=list(stamp["late_reasons_vi"]),
        original_due_at=stamp["original_due_at"],
        calendar=calendar or "standard",
    )


def translator(app: Application[Any]) -> ReplayingTranslator:
    return ReplayingTranslator(app, partial(case_contract, clocks=CaseClocks()))


def _contract(e: Any, case: Case, common: dict[str, Any], stamp: dict[str, Any]) -> AnyEvent | None:
    if isinstance(e, Events.Opened):
        return CaseOpened(**common, procedure_code=case.procedure_code)
    if isinstance(e, Events.Transferred):
        return CaseTransferred(
            **common,
            from_department=e.from_department,
            to_department=e.to_department,
            share_days=e.share_days,
        )
    if isinstance(e, Events.OfficerAssigned):
        return OfficerAssigned(**common, officer=e.officer, taken_over=getattr(e, "taken_over", False))
    if isinstance(e, Events.SupplementRequested):
        return SupplementRequested(**common, number=e.number, missing_items=e.missing_items, reason=e.reason)
    if isinstance(e, Events.SupplementReceived):
        return SupplementReceived(**common, number=e.number, policy=e.policy, paused_minutes=e.paused_minutes)
    if isinstance(e, Events.ClosedForNoSupplement):
        return ClosedForNoSupplement(**common)
    if isinstance(e, Events.LeadershipReported):
        return LeadershipReported(**common, return_number=e.return_number, reason=e.reason)
    if isinstance(e, Events.LeadershipAcknowledged):
        return LeadershipAcknowledged(**common, leader=e.leader, note=e.note)
    if isinstance(e, Events.ApologyIssued):
        return ApologyIssued(
            **common, previous_due_at=e.previous_due_at, reason=e.reason, new_due_at=e.new_due_at
        )
    if isinstance(e, Events.MarkedOverdue):
        return MarkedOverdue(**common)
    if isinstance(e, Events.Decided):
        return DossierDecided(
            **common,
            approved=e.approved,
            reasons=e.reasons,
            # The clock's one verdict: a second return makes it late even if it finished early.
            on_time=not stamp["late"],
            late_reasons=list(stamp["late_reasons_en"]),
            minutes_used=stamp["working_minutes"],
            supplement_minutes=stamp["supplement_minutes"],
        )
    if isinstance(e, Events.ResultReady):
        return ResultReady(
            **common,
            postal_return=case.postal_return,
            on_time=common["occurred_at"] <= stamp["due_at"],
        )
    if isinstance(e, Events.ResultReturned):
        return ResultReturned(**common, via=e.via, received_by=e.received_by)
    if isinstance(e, Events.ResultBackAtDesk):
        return ResultBackAtDesk(**common, reason=e.reason)
    if isinstance(e, Events.Stopped):
        return ProcessingStopped(**common, kind=e.kind, reason=e.reason)
    return None
