"""From processing's stored domain events to the published contracts.

Published events carry the appointment in force after each step, which only the legal clock
over the whole case can tell: each is translated with the case as it stood after it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from eventsourcing.application import Application
from pydantic import BaseModel

from services.processing.domain import Case, step_meta
from services.processing.values import StepClock
from shared.clock.legal_clock import GrowingClock
from shared.contracts import (
    Actor,
    AnyEvent,
    ApologyIssued,
    CaseOpened,
    CaseTransferred,
    Channel,
    ClosedForNoSupplement,
    ComplaintFiled,
    DossierDecided,
    ElectronicResultIssued,
    LeadershipAcknowledged,
    LeadershipReported,
    MarkedOverdue,
    OfficerAssigned,
    ProcessingStopped,
    RatingGiven,
    ResultBackAtDesk,
    ResultReady,
    ResultReturned,
    SupplementReceived,
    SupplementRequested,
    event_id,
)
from shared.contracts.processing import CaseEvent, ClockStamp
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


class CaseLike(Protocol):
    """What a published case event needs from its case (a ``Case``, or a replay's ``CaseHeader``)."""

    @property
    def id(self) -> UUID: ...
    @property
    def dossier_id(self) -> UUID: ...
    @property
    def dossier_code(self) -> str: ...
    @property
    def department_code(self) -> str: ...
    @property
    def procedure_code(self) -> str: ...
    @property
    def postal_return(self) -> bool: ...
    @property
    def calendar(self) -> str: ...


@dataclass
class CaseHeader:
    """A case as far as its published events need it: a replay of stamped steps keeps only this,
    instead of the whole aggregate moved forward by every step."""

    id: UUID
    dossier_id: UUID
    dossier_code: str
    department_code: str
    procedure_code: str
    postal_return: bool
    calendar: str
    version: int

    @classmethod
    def of(cls, case: Case) -> CaseHeader:
        return cls(
            case.id,
            case.dossier_id,
            case.dossier_code,
            case.department_code,
            case.procedure_code,
            case.postal_return,
            case.calendar,
            case.version,
        )


class ReplayTranslator:
    """The replay's translator (trusted: our own store). A step stored with its clock reading is
    translated from its case's header alone; anything else (older steps, a header not at hand)
    goes through the whole aggregate, as the relay translates."""

    def __init__(self, app: Application[Any]) -> None:
        self.headers: dict[UUID, CaseHeader] = {}
        self.clocks = CaseClocks()
        self.full = ReplayingTranslator(app, self._full)

    def _full(self, e: Any, case: Case) -> AnyEvent | None:
        self.headers[e.originator_id] = CaseHeader.of(case)
        return case_contract(e, case, self.clocks, trusted=True)

    def __call__(self, e: Any) -> AnyEvent | None:
        stamped = step_meta(e).clock is not None
        header = self.headers.get(e.originator_id)
        if not stamped or e.originator_version != (1 if header is None else header.version + 1):
            return self.full(e)
        if header is None:  # the opening, stamped: the case is all in the event
            header = CaseHeader(
                e.originator_id,
                e.dossier_id,
                e.dossier_code,
                e.department_code,
                e.procedure_code,
                e.postal_return,
                e.calendar,
                0,
            )
            self.headers[e.originator_id] = header
        elif type(e) is Events.Transferred:
            header.department_code = e.to_department
        header.version = e.originator_version
        return case_contract(e, header, trusted=True)


def case_contract(
    e: Any, case: CaseLike, clocks: CaseClocks | None = None, *, trusted: bool = False
) -> AnyEvent | None:
    """The published event for one stored step, ``case`` as it stood after it.

    ``trusted``: build the contract without validating it again (a replay reading our own store,
    whose every step was validated when it was recorded); the relay validates what it publishes.
    """
    build = _BUILDERS.get(type(e))
    if build is None:
        return None
    meta = step_meta(e)
    at = meta.occurred_at
    # Steps stored with their clock reading are translated without the clock; older steps
    # read it, growing the case's clock step by step.
    stamp = meta.clock
    if stamp is None:
        assert isinstance(case, Case)  # only stamped steps are translated from a header
        stamp = StepClock.of(case.read_clock(at, None if clocks is None else clocks.of(case)))
    actor = meta.actor
    common: dict[str, Any] = {
        "event_id": event_id("processing", e.originator_id, e.originator_version),
        "dossier_id": case.dossier_id,
        "dossier_code": case.dossier_code,
        "occurred_at": at,
        "recorded_at": e.timestamp,
        "actor": _construct(Actor, {**actor, "channel": Channel(actor["channel"])})
        if trusted
        else Actor(**actor),
        "backdate_reason": meta.backdate_reason,
        "department_code": case.department_code,
        "due_at": stamp.due_at,
        "clock": clock_stamp(stamp, case.calendar),
    }
    contract, fields = build(e, case, stamp)
    common.update(fields)
    made = _construct(contract, common) if trusted else contract(**common)
    return cast(AnyEvent, made)


_Model = TypeVar("_Model", bound=BaseModel)
_DEFAULTS: dict[type[BaseModel], list[tuple[str, Any, Callable[[], Any] | None]]] = {}


def _construct(cls: type[_Model], fields: dict[str, Any]) -> _Model:
    """``cls.model_construct(**fields)`` for our own contracts, at a third of its cost (it was the
    replay's largest single item): no aliases, no extra fields, defaults filled in, nothing checked."""
    spec = _DEFAULTS.get(cls)
    if spec is None:
        spec = _DEFAULTS[cls] = [
            (name, info.default, cast(Callable[[], Any], info.default_factory))
            for name, info in cls.model_fields.items()
        ]
    values = {
        name: fields[name] if name in fields else (factory() if factory is not None else default)
        for name, default, factory in spec
    }
    made = cls.__new__(cls)
    object.__setattr__(made, "__dict__", values)
    object.__setattr__(made, "__pydantic_fields_set__", set(fields))
    object.__setattr__(made, "__pydantic_extra__", None)
    object.__setattr__(made, "__pydantic_private__", None)
    return made


def clock_stamp(stamp: StepClock, calendar: str) -> ClockStamp:
    """The reading as published: a consumer counts from it instead of re-running the clock.

    Built without validation: every value comes from the clock itself, not from outside.
    """
    return _construct(
        ClockStamp,
        dict(
            working_minutes=stamp.working_minutes,
            minutes_left=stamp.minutes_left,
            supplement_minutes=stamp.supplement_minutes,
            paused=stamp.paused,
            status=stamp.status.value,
            late=stamp.late,
            late_reasons_en=list(stamp.late_reasons_en),
            late_reasons_vi=list(stamp.late_reasons_vi),
            original_due_at=stamp.original_due_at,
            calendar=calendar or "standard",
        ),
    )


def translator(app: Application[Any], *, trusted: bool = False) -> Callable[[Any], AnyEvent | None]:
    """The relay's translator; ``trusted``: the replay's, reading our own store."""
    if trusted:
        return ReplayTranslator(app)
    return ReplayingTranslator(app, partial(case_contract, clocks=CaseClocks()))


# What each kind of stored step adds to the fields every case event has.
Fields = tuple[type[CaseEvent], dict[str, Any]]


def _opened(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return CaseOpened, {"procedure_code": case.procedure_code}


def _transferred(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    fields = {
        "from_department": e.from_department,
        "to_department": e.to_department,
        "share_days": e.share_days,
    }
    return CaseTransferred, fields


def _assigned(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return OfficerAssigned, {"officer": e.officer, "taken_over": getattr(e, "taken_over", False)}


def _supplement_requested(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return SupplementRequested, {"number": e.number, "missing_items": e.missing_items, "reason": e.reason}


def _supplement_received(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    fields = {"number": e.number, "policy": e.policy, "paused_minutes": e.paused_minutes}
    return SupplementReceived, fields


def _closed(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return ClosedForNoSupplement, {}


def _reported(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return LeadershipReported, {"return_number": e.return_number, "reason": e.reason}


def _acknowledged(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return LeadershipAcknowledged, {"leader": e.leader, "note": e.note}


def _apologised(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    fields = {"previous_due_at": e.previous_due_at, "reason": e.reason, "new_due_at": e.new_due_at}
    return ApologyIssued, fields


def _overdue(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return MarkedOverdue, {}


def _decided(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return DossierDecided, {
        "approved": e.approved,
        "reasons": e.reasons,
        # The clock's one verdict: a second return makes it late even if it finished early.
        "on_time": not stamp.late,
        "late_reasons": list(stamp.late_reasons_en),
        "minutes_used": stamp.working_minutes,
        "supplement_minutes": stamp.supplement_minutes,
    }


def _result_ready(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    on_time = step_meta(e).occurred_at <= stamp.due_at
    return ResultReady, {"postal_return": case.postal_return, "on_time": on_time}


def _returned(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return ResultReturned, {"via": e.via, "received_by": e.received_by}


def _back_at_desk(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return ResultBackAtDesk, {"reason": e.reason}


def _stopped(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return ProcessingStopped, {"kind": e.kind, "reason": e.reason}


def _result_issued(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    doc = e.document
    return ElectronicResultIssued, {
        "document_id": doc["document_id"],
        "media_type": doc["media_type"],
        "size": doc["size"],
        "sha256": doc["sha256"],
        "signature": e.signature,
    }


def _rated(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return RatingGiven, {"score": e.score, "comment": e.comment, "source": e.source}


def _complained(e: Any, case: CaseLike, stamp: StepClock) -> Fields:
    return ComplaintFiled, {"text": e.text, "source": e.source}


_BUILDERS: dict[type, Callable[[Any, CaseLike, StepClock], Fields]] = {
    Events.Opened: _opened,
    Events.Transferred: _transferred,
    Events.OfficerAssigned: _assigned,
    Events.SupplementRequested: _supplement_requested,
    Events.SupplementReceived: _supplement_received,
    Events.ClosedForNoSupplement: _closed,
    Events.LeadershipReported: _reported,
    Events.LeadershipAcknowledged: _acknowledged,
    Events.ApologyIssued: _apologised,
    Events.MarkedOverdue: _overdue,
    Events.Decided: _decided,
    Events.ResultReady: _result_ready,
    Events.ResultReturned: _returned,
    Events.ResultBackAtDesk: _back_at_desk,
    Events.Stopped: _stopped,
    Events.ResultIssued: _result_issued,
    Events.RatingGiven: _rated,
    Events.ComplaintFiled: _complained,
}
