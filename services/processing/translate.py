"""From processing's stored domain events to the published contracts.

Published events carry the appointment in force after each step, which only the legal clock
over the whole case can tell: each is translated with the case as it stood after it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from services.processing.domain import Case, step_meta
from services.processing.transcodings import STEP_CLOCK, STEP_META
from services.processing.values import StepClock
from shared.clock.legal_clock import GrowingClock
from shared.contracts import (
    Actor,
    AnyEvent,
    ApologyIssued,
    CaseOpened,
    CaseTransferred,
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
from shared.contracts.processing import CaseEvent, ClockStamp, ResultSignature
from shared.contracts.trusted import actor as trusted_actor
from shared.contracts.trusted import as_uuid, construct
from shared.eventlog.stored_json import StoredRow, StoredState, Unreadable
from shared.eventlog.translator import CACHE_SIZE, ReplayingTranslator

# The library creates Case's event classes from its @event methods; mypy cannot see them.
Events: Any = Case


REPLAY_CACHE_SIZE = 20_000


class CaseClocks:
    """The clocks of the cases translated lately: a case's steps come in order, so each step
    replays only the clock facts added since the previous one (not the case's whole clock)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
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
        # A replay reads each share of the log once, in order, in a short-lived worker: more
        # cases at hand than a service keeps (its steps lie further apart in a long log).
        self.clocks = CaseClocks(REPLAY_CACHE_SIZE)
        self.full = ReplayingTranslator(app, self._full, cache_size=REPLAY_CACHE_SIZE)
        self.mapper = app.mapper

    def dossier_of(self, row: StoredRow) -> UUID:
        """The dossier of a case's first stored row (the opening carries it)."""
        found = row.parsed().state.get("dossier_id")
        if found is None:
            return cast(UUID, getattr(row.domain_event(self.mapper), "dossier_id", row.originator_id))
        return found if isinstance(found, UUID) else UUID(found["_data_"])

    def read(self, row: StoredRow) -> AnyEvent | None:
        """A stored row straight to its contract: a stamped step of a case whose header is at
        hand is decoded from the row's JSON, without the library's mapper or a domain event;
        anything else (older unstamped steps, a header not at hand) goes the library's way."""
        build = _ROW_BUILDERS.get(row.topic)
        header = self.headers.get(row.originator_id)
        if build is not None and row.version == (1 if header is None else header.version + 1):
            try:
                made = self._from_row(row, build, header)
            except Unreadable:
                made = _NOT_READ
            if made is not _NOT_READ:
                return cast("AnyEvent | None", made)  # a string: the union is not built per row
        return self(row.domain_event(self.mapper))

    def _from_row(self, row: StoredRow, build: Builder, header: CaseHeader | None) -> object:
        stored = row.parsed()
        state = stored.state
        meta = meta_of(stored)
        stamp = meta["clock"]
        if stamp is None:
            return _NOT_READ  # recorded before steps carried their clock: the clock is read
        stored.dt("occurred_at", meta)
        stored.dt("due_at", stamp)
        stored.dt("original_due_at", stamp)
        stored.dt("timestamp")
        for key in _ROW_DATETIMES.get(row.topic, ()):
            stored.optional_dt(key)
        for key in _ROW_NESTED.get(row.topic, ()):
            if key in state:
                stored.decode(key)
        if header is None:  # the opening: the case is all in the row
            if not isinstance(state["dossier_id"], UUID):
                stored.uuid("dossier_id")
            stored.dt("received_at")
            stored.dt("due_at")
        if not stored.complete:
            return _NOT_READ
        if header is None:
            header = CaseHeader(
                row.originator_id,
                state["dossier_id"],
                state["dossier_code"],
                state["department_code"],
                state["procedure_code"],
                state["postal_return"],
                state["calendar"],
                0,
            )
            self.headers[row.originator_id] = header
        elif build is _transferred:
            header.department_code = state["to_department"]
        header.version = row.version
        return _case_event(
            build,
            state,
            meta["occurred_at"],
            meta["actor"],
            meta.get("backdate_reason"),
            stamp["due_at"],
            stored_clock_stamp(stamp, header.calendar),
            header,
            row.originator_id,
            row.version,
            trusted=True,
        )

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
    # Steps stored with their clock reading are translated without the clock; older steps
    # read it, growing the case's clock step by step.
    stamp = meta.clock
    if stamp is None:
        assert isinstance(case, Case)  # only stamped steps are translated from a header
        stamp = StepClock.of(case.read_clock(meta.occurred_at, None if clocks is None else clocks.of(case)))
    return _case_event(
        build,
        vars(e),
        meta.occurred_at,
        meta.actor,
        meta.backdate_reason,
        stamp.due_at,
        clock_stamp(stamp, case.calendar),
        case,
        e.originator_id,
        e.originator_version,
        trusted=trusted,
    )


def meta_of(stored: StoredState) -> dict[str, Any]:
    """``step_meta`` of a stored step's state, as the dict of ``StepMeta``'s fields (``clock``
    the dict of ``StepClock``'s, or None), their datetimes left to decode.

    Rows hold it in either of two forms: plain dicts (stored before ``StepMeta``), or the
    records as their transcodings write them, which are unwrapped here in place rather than
    made into ``StepMeta``: the replay reads every row, and the contract needs only the fields.
    """
    state = stored.state
    if "meta" in state:
        meta = stored.record("meta", STEP_META)
        if meta.get("clock") is not None:
            stored.record("clock", STEP_CLOCK, meta)
        else:
            meta["clock"] = None  # a plain dict of a step stored before steps carried their clock
        return meta
    # the opening keeps these as its own fields
    opened = {
        "occurred_at": state["occurred_at"],
        "actor": state["actor"],
        "backdate_reason": state.get("backdate_reason"),
        "clock": None,
    }
    if state.get("opening_clock") is not None:
        opened["clock"] = stored.record("opening_clock", STEP_CLOCK)
    return opened


def _case_event(
    build: Builder,
    state: dict[str, Any],
    occurred_at: datetime,
    actor: dict[str, Any],
    backdate_reason: str | None,
    due_at: datetime,
    clock: ClockStamp,
    case: CaseLike,
    case_id: UUID,
    version: int,
    *,
    trusted: bool,
) -> AnyEvent:
    # The step's meta and clock come in as fields, not as a ``StepMeta``: the replay's rows give
    # them as dicts, and making records of them only to read them back would cost every row.
    common: dict[str, Any] = {
        "event_id": event_id("processing", case_id, version),
        "dossier_id": case.dossier_id,
        "dossier_code": case.dossier_code,
        "occurred_at": occurred_at,
        "recorded_at": state["timestamp"],
        "actor": trusted_actor(actor) if trusted else Actor(**actor),
        "backdate_reason": backdate_reason,
        "department_code": case.department_code,
        "due_at": due_at,
        "clock": clock,
    }
    contract, fields = build(state, case, common)
    common.update(fields)
    made = construct(contract, common) if trusted else contract(**common)
    return cast(AnyEvent, made)


def clock_stamp(stamp: StepClock, calendar: str) -> ClockStamp:
    """The reading as published: a consumer counts from it instead of re-running the clock.

    Built without validation: every value comes from the clock itself, not from outside.
    """
    return stored_clock_stamp({name: getattr(stamp, name) for name in _STAMP_FIELDS}, calendar)


_STAMP_FIELDS = (
    "working_minutes",
    "minutes_left",
    "supplement_minutes",
    "paused",
    "status",
    "late",
    "late_reasons_en",
    "late_reasons_vi",
    "original_due_at",
)


def stored_clock_stamp(stamp: dict[str, Any], calendar: str) -> ClockStamp:
    """``clock_stamp`` of a ``StepClock``'s fields as a stored row holds them (the verdict as
    its text, the reasons as lists), its datetimes decoded; or as a ``StepClock`` has them."""
    return construct(
        ClockStamp,
        dict(
            working_minutes=stamp["working_minutes"],
            minutes_left=stamp["minutes_left"],
            supplement_minutes=stamp["supplement_minutes"],
            paused=stamp["paused"],
            status=str(stamp["status"]),  # a ClockVerdict's text, or the text itself
            late=stamp["late"],
            late_reasons_en=list(stamp["late_reasons_en"]),
            late_reasons_vi=list(stamp["late_reasons_vi"]),
            original_due_at=stamp["original_due_at"],
            calendar=calendar or "standard",
        ),
    )


def replay_reader(app: Application[Any]) -> ReplayTranslator:
    """The replay's reader of processing's rows (``ReplayTranslator.read``)."""
    return ReplayTranslator(app)


def translator(app: Application[Any], *, trusted: bool = False) -> Callable[[Any], AnyEvent | None]:
    """The relay's translator; ``trusted``: the replay's, reading our own store."""
    if trusted:
        return ReplayTranslator(app)
    return ReplayingTranslator(app, partial(case_contract, clocks=CaseClocks()))


# What each kind of stored step adds to the fields every case event has (``c``: those fields,
# the published clock among them), from the step's state (``s``: its attributes, or its row's).
Fields = tuple[type[CaseEvent], dict[str, Any]]
Builder = Callable[[dict[str, Any], CaseLike, dict[str, Any]], Fields]


def _opened(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return CaseOpened, {"procedure_code": case.procedure_code}


def _transferred(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    fields = {
        "from_department": s["from_department"],
        "to_department": s["to_department"],
        "share_days": s["share_days"],
    }
    return CaseTransferred, fields


def _assigned(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return OfficerAssigned, {"officer": s["officer"], "taken_over": s.get("taken_over", False)}


def _supplement_requested(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return SupplementRequested, {
        "number": s["number"],
        "missing_items": s["missing_items"],
        "reason": s["reason"],
    }


def _supplement_received(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    fields = {"number": s["number"], "policy": s["policy"], "paused_minutes": s["paused_minutes"]}
    return SupplementReceived, fields


def _closed(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return ClosedForNoSupplement, {}


def _reported(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return LeadershipReported, {"return_number": s["return_number"], "reason": s["reason"]}


def _acknowledged(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return LeadershipAcknowledged, {"leader": s["leader"], "note": s["note"]}


def _apologised(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    fields = {"previous_due_at": s["previous_due_at"], "reason": s["reason"], "new_due_at": s["new_due_at"]}
    return ApologyIssued, fields


def _overdue(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return MarkedOverdue, {}


def _decided(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return DossierDecided, {
        "approved": s["approved"],
        "reasons": s["reasons"],
        # The clock's one verdict: a second return makes it late even if it finished early.
        "on_time": not c["clock"].late,
        "late_reasons": list(c["clock"].late_reasons_en),
        "minutes_used": c["clock"].working_minutes,
        "supplement_minutes": c["clock"].supplement_minutes,
    }


def _result_ready(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    on_time = c["occurred_at"] <= c["due_at"]
    return ResultReady, {"postal_return": case.postal_return, "on_time": on_time}


def _returned(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return ResultReturned, {"via": s["via"], "received_by": s["received_by"]}


def _back_at_desk(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return ResultBackAtDesk, {"reason": s["reason"]}


def _stopped(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return ProcessingStopped, {"kind": s["kind"], "reason": s["reason"]}


def _result_issued(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    doc, signature = s["document"], s["signature"]
    return ElectronicResultIssued, {
        # as validation makes them, so that a trusted (unvalidated) contract holds the same
        "document_id": as_uuid(doc["document_id"]),
        "media_type": doc["media_type"],
        "size": doc["size"],
        "sha256": doc["sha256"],
        "signature": None if signature is None else ResultSignature(**signature),
    }


def _rated(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return RatingGiven, {"score": s["score"], "comment": s["comment"], "source": s["source"]}


def _complained(s: dict[str, Any], case: CaseLike, c: dict[str, Any]) -> Fields:
    return ComplaintFiled, {"text": s["text"], "source": s["source"]}


_BUILDERS: dict[type, Builder] = {
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

# The same by the stored topic, for the replay reading rows; with what each step's state holds
# beyond its ``meta`` that the library stores transcoded (datetimes, and nested documents).
_ROW_BUILDERS: dict[str, Builder] = {get_topic(cls): build for cls, build in _BUILDERS.items()}
_ROW_DATETIMES: dict[str, tuple[str, ...]] = {
    get_topic(Events.ApologyIssued): ("previous_due_at", "new_due_at"),
    get_topic(Events.MarkedOverdue): ("due_at_passed",),
}
_ROW_NESTED: dict[str, tuple[str, ...]] = {
    get_topic(Events.Opened): ("intake_steps",),
    get_topic(Events.ResultIssued): ("document", "signature"),
}
_NOT_READ = object()
