"""Folding a dossier's events into its facts: pure, and independent of the order they arrived in.

Events are sorted by business time (then by service and version, for events at the same
moment), so a redelivered or overtaken event gives the same row as an orderly stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.scoring.domain import clock_input
from services.scoring.domain.dossier_facts import DossierFacts
from services.scoring.domain.national_status import national_status
from shared.clock import ClockReading
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
from shared.contracts.processing import CaseEvent

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


def fold(events: Iterable[AnyEvent], now: datetime | None = None) -> DossierFacts:
    """The dossier's facts from its events; the clock is read at ``now`` (default: the last event)."""
    ordered = sorted(events, key=event_order)
    if not ordered:
        raise ValueError("a dossier has at least one event")
    first = ordered[0]
    f: dict[str, Any] = {"dossier_id": first.dossier_id, "dossier_code": first.dossier_code}
    received: DossierReceived | None = None
    case_opened = paused = False
    for event in ordered:
        # A derived event (the case opened from a receipt, a delivery opened from a result)
        # carries its source's reason: the entry was made once and is counted once, at its source.
        derived = isinstance(event, CaseOpened | ShipmentOpened)
        if is_backdated(event.occurred_at, event.recorded_at) and event.backdate_reason and not derived:
            f["backdated_entries"] = f.get("backdated_entries", 0) + 1
        if isinstance(event, DossierFiled):
            _filed(f, event)
            if isinstance(event, DossierReceived):
                received = event
        elif isinstance(event, CaseEvent):
            case_opened = True
            f.setdefault("department_code", event.department_code)
            f["due_at"] = event.due_at
            paused = _case_event(f, event, paused)
        elif isinstance(event, ChargeOpened | PaymentReceived):
            _payment(f, event)
        else:
            _postal(f, event)
    f["event_count"] = len(ordered)
    f["last_event_at"] = ordered[-1].occurred_at
    f["paused"] = paused
    facts = DossierFacts(**f)
    if received is not None:
        facts = _with_clock(facts, received, ordered, now or ordered[-1].occurred_at)
    return replace(
        facts,
        national_status=national_status(
            outcome=facts.outcome,
            case_opened=case_opened,
            paused=facts.paused,
            finish_kind=facts.finish_kind,
            returned=facts.returned_at is not None,
            obligation_due=facts.obligations_due > 0,
        ),
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


def _with_clock(
    facts: DossierFacts, received: DossierReceived, ordered: list[AnyEvent], now: datetime
) -> DossierFacts:
    later = [e for e in ordered if isinstance(e, CaseEvent)]
    try:
        reading = clock_input.read(received, later, now)
    except ValueError as exc:
        # Part of the history has not arrived yet: keep what the events carry, say why.
        return replace(facts, clock_note=str(exc)[:200])
    return _apply_reading(facts, reading)


def _apply_reading(facts: DossierFacts, reading: ClockReading) -> DossierFacts:
    finished = facts.finished_at is not None
    return replace(
        facts,
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
