"""Folding a dossier's events into its facts: pure, and independent of the order they arrived in.

Events are sorted by business time (then by service and version, for events at the same
moment), so a redelivered or overtaken event gives the same row as an orderly stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any
from uuid import UUID

from services.scoring.domain import clock_input
from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.national_status import national_status
from shared.clock import ClockFact, ClockReading, Received
from shared.contracts import (
    AnyEvent,
    ApologyIssued,
    CaseOpened,
    CaseTransferred,
    ChargeOpened,
    ClosedForNoSupplement,
    ComplaintFiled,
    CompletionRequested,
    DossierDecided,
    DossierReceived,
    DossierRefused,
    DossierRegistered,
    ElectronicResultIssued,
    LeadershipReported,
    MarkedOverdue,
    PaymentReceived,
    ProcessingStopped,
    RatingGiven,
    ResultReady,
    ResultReturned,
    ShipmentDelivered,
    ShipmentFailed,
    ShipmentOpened,
    SupplementReceived,
    SupplementRequested,
)
from shared.contracts.base import is_backdated
from shared.contracts.intake import DossierFiled
from shared.contracts.processing import CaseEvent, ClockStamp

_SERVICE_RANK = {"intake": 0, "processing": 1, "postal": 2, "payments": 3}
_TIMELINESS = {"finished_early": "early", "finished_on_time": "on_time", "finished_late": "late"}


def event_order(event: AnyEvent) -> tuple[datetime, int, int, str]:
    service, _, rest = event.event_id.partition(":")
    version = rest.rpartition(":")[2]
    return (
        event.occurred_at,
        _SERVICE_RANK.get(service, 9),
        int(version) if version.isdigit() else 0,
        event.event_id,
    )


def channel_kind(filed: DossierFiled) -> str:
    if int(filed.channel) == 3:
        return "post"
    if int(filed.channel) == 2:
        return "online_full" if filed.online_level == "full" else "online_partial"
    return "desk"


OrderKey = tuple[datetime, int, int, str]


@dataclass
class Receipt:
    """What the legal clock needs from the receipt."""

    received_at: datetime
    agency: str
    legal_days: int | None
    legal_hours: int | None
    same_day: bool
    cutoff: str | None
    policy: str
    calendar: str


@dataclass
class FoldState:
    """A dossier's fold so far: everything ``finish`` needs, so a new event is applied to it alone.

    ``facts`` holds the row's fields the events give directly (the clock's are added by
    ``finish``). The case events' clock facts are kept for the audit reading; ``stamp`` is the
    clock as processing read it after its latest step (the highest version: a back-dated step
    can come before an earlier version in business time), which the fast reading counts from.
    """

    facts: dict[str, Any]
    receipt: Receipt | None = None
    clock: list[ClockFact] = field(default_factory=list)
    case_opened: bool = False
    paused: bool = False
    stamp: ClockStamp | None = None
    stamp_at: datetime | None = None
    stamp_due_at: datetime | None = None
    case_events: int = 0
    case_top_version: int = 0
    last: OrderKey | None = None

    @classmethod
    def new(cls, dossier_id: UUID, dossier_code: str) -> FoldState:
        return cls(facts={"dossier_id": dossier_id, "dossier_code": dossier_code, "event_count": 0})

    def follows(self, event: AnyEvent) -> bool:
        """Whether ``event`` comes after everything applied so far (else: fold the history again)."""
        return self.last is None or event_order(event) > self.last


def fold(events: Iterable[AnyEvent], now: datetime | None = None, *, audit: bool = False) -> DossierFacts:
    """The dossier's facts from its events; the clock is read at ``now`` (default: the last event).

    Without ``now`` the clock processing published with its events is counted when it covers the
    whole history (see ``finish``); ``audit`` re-runs the legal clock over every event instead,
    as ``motcua verify`` does, to prove the two agree.
    """
    ordered = sorted(((event_order(e), e) for e in events), key=itemgetter(0))
    if not ordered:
        raise ValueError("a dossier has at least one event")
    first = ordered[0][1]
    state = FoldState.new(first.dossier_id, first.dossier_code)
    for order, event in ordered:
        apply(state, event, order)
    return finish(state, now, audit=audit)


def apply(state: FoldState, event: AnyEvent, order: OrderKey | None = None) -> None:
    """Adds one event, which comes after every event applied so far (``FoldState.follows``);
    ``order``: its ``event_order``, when the caller sorted by it already."""
    f = state.facts
    # A derived event (the case opened from a receipt, a delivery opened from a result)
    # carries its source's reason: the entry was made once and is counted once, at its source.
    derived = isinstance(event, CaseOpened | ShipmentOpened)
    if is_backdated(event.occurred_at, event.recorded_at) and event.backdate_reason and not derived:
        f["backdated_entries"] = f.get("backdated_entries", 0) + 1
    if isinstance(event, DossierFiled):
        _filed(f, event)
        if isinstance(event, DossierReceived):
            state.receipt = Receipt(
                received_at=event.received_at,
                agency=event.department_code,
                legal_days=event.legal_days,
                legal_hours=event.legal_hours,
                same_day=event.same_day,
                cutoff=event.same_day_cutoff,
                policy=event.supplement_policy,
                calendar=event.calendar,
            )
    elif isinstance(event, CaseEvent):
        state.case_opened = True
        f.setdefault("department_code", event.department_code)
        f["due_at"] = event.due_at
        state.paused = _case_event(f, event, state.paused)
        fact = clock_input.clock_fact(event)
        if fact is not None:
            state.clock.append(fact)
        state.case_events += 1
        version = _version(event.event_id)
        if version > state.case_top_version:
            state.case_top_version = version
            state.stamp, state.stamp_at, state.stamp_due_at = event.clock, event.occurred_at, event.due_at
    elif isinstance(event, ChargeOpened | PaymentReceived):
        _payment(f, event)
    else:
        _postal(f, event)
    f["event_count"] = f.get("event_count", 0) + 1
    f["last_event_at"] = event.occurred_at
    state.last = order or event_order(event)


def finish(state: FoldState, now: datetime | None = None, *, audit: bool = False) -> DossierFacts:
    """The facts row of the state; the clock read at ``now`` (default: the last event).

    The row's fields are gathered in a dict and the row made once (a replay finishes every
    dossier: each ``dataclasses.replace`` of this wide row cost as much as making it)."""
    fields: dict[str, Any] = {**state.facts, "paused": state.paused}
    if state.receipt is not None:
        stamp = None if audit or now is not None else _usable_stamp(state)
        if stamp is not None:
            fields.update(_stamp_fields(fields, stamp, state.stamp_due_at))
        else:
            at = now or fields.get("last_event_at") or state.receipt.received_at
            fields.update(_clock_fields(fields, state, at))
    fields["national_status"] = national_status(
        outcome=fields.get("outcome"),
        case_opened=state.case_opened,
        paused=fields["paused"],
        finish_kind=fields.get("finish_kind"),
        returned=fields.get("returned_at") is not None,
        obligation_due=fields.get("obligations_due", 0) > 0,
    )
    return DossierFacts.of(fields)


def _version(event_id: str) -> int:
    version = event_id.rpartition(":")[2]
    return int(version) if version.isdigit() else 0


def _usable_stamp(state: FoldState) -> ClockStamp | None:
    """Processing's reading, when it is the reading the audit would make.

    It is, when it was read after every case event there is (versions 1..n all here: nothing
    missing or still on its way), with the receipt's calendar, and either the clock
    had stopped (a finished clock reads the same at any later moment) or it was read at the
    audit's moment, the dossier's last event. Processing refuses clock-moving steps out of
    business-time order, so its clock facts are in the order the audit sorts them in.
    """
    stamp = state.stamp
    receipt = state.receipt
    if (
        stamp is None
        or receipt is None
        or state.case_events != state.case_top_version
        or stamp.calendar != receipt.calendar
    ):
        return None
    last = state.facts.get("last_event_at")
    if state.stamp_at is not None and last is not None and state.stamp_at < last:
        return stamp if stamp.status.startswith("finished") else None
    return stamp


def _stamp_fields(fields: dict[str, Any], stamp: ClockStamp, due_at: datetime | None) -> dict[str, Any]:
    finished = fields.get("finished_at") is not None
    return dict(
        due_at=due_at,
        original_due_at=stamp.original_due_at,
        working_minutes=stamp.working_minutes,
        supplement_minutes=stamp.supplement_minutes,
        timeliness=_TIMELINESS.get(stamp.status) if finished else None,
        late=stamp.late,
        late_reason="; ".join(stamp.late_reasons_en) or None,
        late_reason_vi="; ".join(stamp.late_reasons_vi) or None,
        paused=stamp.paused,
    )


def _filed(f: dict[str, Any], event: DossierFiled) -> None:
    f.update(
        department_code=event.department_code,
        procedure_code=event.procedure_code,
        receiving_point=event.receiving_point,
        channel_kind=channel_kind(event),
    )
    if isinstance(event, DossierRegistered):
        # Filed online, waiting for the desk (status 1): not at the counter yet, so it neither
        # dates the dossier's registration at the counter nor undoes a verdict.
        if f.get("outcome") in (None, "incomplete"):
            f["outcome"] = "registered"
        return
    f.setdefault("registered_at", event.occurred_at)
    if isinstance(event, CompletionRequested):
        if f.get("outcome") in (None, "registered"):
            f["outcome"] = "incomplete"
    elif isinstance(event, DossierRefused):
        f["outcome"] = "refused"
    elif isinstance(event, DossierReceived):
        f.update(
            outcome="received",
            postal_return=event.postal_return,
            fee_vnd=event.fee_vnd,
            paid_online=event.paid_online or f.get("paid_online", False),
            documents_scanned=event.documents_scanned,
            electronic_result=event.electronic_result,
            received_at=event.received_at,
            original_due_at=event.due_at,
            pickup_reference=event.pickup_reference,
        )
        f.setdefault("due_at", event.due_at)


def _case_event(f: dict[str, Any], event: CaseEvent, paused: bool) -> bool:
    if isinstance(event, SupplementRequested):
        f["supplement_requests"] = max(f.get("supplement_requests", 0), event.number)
        return True
    if isinstance(event, SupplementReceived):
        f["supplement_minutes"] = f.get("supplement_minutes", 0) + event.paused_minutes
        return False
    if isinstance(event, CaseTransferred):
        f["transfers"] = f.get("transfers", 0) + 1
    elif isinstance(event, LeadershipReported):
        f["escalations"] = f.get("escalations", 0) + 1
    elif isinstance(event, ApologyIssued):
        f["apologies"] = f.get("apologies", 0) + 1
    elif isinstance(event, MarkedOverdue):
        f["overdue_marked"] = True
    elif isinstance(event, DossierDecided):
        f.update(finished_at=event.occurred_at, finish_kind="decided", approved=event.approved)
        f.update(working_minutes=event.minutes_used, supplement_minutes=event.supplement_minutes)
        f["timeliness"] = "on_time" if event.on_time else "late"
    elif isinstance(event, ProcessingStopped | ClosedForNoSupplement):
        kind = event.kind if isinstance(event, ProcessingStopped) else "closed"
        f.update(finished_at=event.occurred_at, finish_kind=kind)
    elif isinstance(event, ResultReady):
        f["result_ready_at"] = event.occurred_at
    elif isinstance(event, ElectronicResultIssued):
        f.setdefault("result_issued_at", event.occurred_at)
    elif isinstance(event, ResultReturned):
        f.update(returned_at=event.occurred_at, returned_via=event.via)
    elif isinstance(event, RatingGiven):
        # One rating per dossier (processing refuses a second); the first in business time wins.
        f.setdefault("rating", event.score)
        f.setdefault("rated_at", event.occurred_at)
    elif isinstance(event, ComplaintFiled):
        f["complaints"] = f.get("complaints", 0) + 1
        f.setdefault("complained_at", event.occurred_at)
    return paused


def _payment(f: dict[str, Any], event: ChargeOpened | PaymentReceived) -> None:
    """A fee or obligation paid online counts the dossier as paid online (Decision 766's online
    payment); an obligation requested and not yet paid is national status 6."""
    if isinstance(event, ChargeOpened):
        if event.kind == "obligation":
            f["obligations_vnd"] = f.get("obligations_vnd", 0) + event.amount_vnd
            f["obligations_due"] = f.get("obligations_due", 0) + 1
        return
    if event.method == "online":
        f["paid_online"] = True
    if event.kind == "obligation":
        f["obligations_due"] = max(0, f.get("obligations_due", 0) - 1)


def _postal(f: dict[str, Any], event: AnyEvent) -> None:
    if isinstance(event, ShipmentOpened) and event.kind == "delivery":
        f["postal_delivery_at"] = event.occurred_at
    elif isinstance(event, ShipmentDelivered) and event.kind == "delivery":
        f["postal_delivered_at"] = event.delivered_at
    elif isinstance(event, ShipmentFailed) and event.kind == "delivery":
        f["postal_failures"] = f.get("postal_failures", 0) + 1


def _clock_fields(fields: dict[str, Any], state: FoldState, now: datetime) -> dict[str, Any]:
    receipt = state.receipt
    assert receipt is not None  # the caller checked
    try:
        reading = clock_input.read_facts(
            Received(at=receipt.received_at, agency=receipt.agency),
            state.clock,
            now,
            legal_time=clock_input.legal_time_of(receipt.legal_days, receipt.legal_hours, receipt.same_day),
            policy=receipt.policy,
            cutoff=receipt.cutoff,
            calendar=receipt.calendar,
        )
    except ValueError as exc:
        # Part of the history has not arrived yet: keep what the events carry, say why.
        return {"clock_note": str(exc)[:200]}
    return _reading_fields(fields, reading)


def _reading_fields(fields: dict[str, Any], reading: ClockReading) -> dict[str, Any]:
    finished = fields.get("finished_at") is not None
    return dict(
        due_at=reading.due_at,
        original_due_at=reading.original_due_at,
        working_minutes=reading.processing_minutes,
        supplement_minutes=reading.supplement_minutes,
        # One verdict, the clock's: past the appointment or returned too often (Decision 766).
        timeliness=_TIMELINESS.get(reading.status) if finished else None,
        late=reading.late,
        late_reason="; ".join(r.en for r in reading.late_reasons) or None,
        late_reason_vi="; ".join(r.vi for r in reading.late_reasons) or None,
        paused=reading.paused,
    )
