"""Decision 766/QĐ-TTg (2022): the index of service to citizens and businesses, per unit and period.

Formulas (docs/domain-rules.md, "Index 766"), each scored against its group maximum:

* progress (20): on-time rate = dossiers finished on or before the appointment, or in progress
  and not yet due, over the dossiers of the period. A dossier belongs to the period if it was
  received before the period's end and had not finished before its start (carried-over ones
  count). Finished = decided, withdrawn, stopped or closed. Supplement time is subtracted (the
  legal clock stops during a supplement), more supplement requests than the rule set allows
  (one) make a dossier late, and dossiers unfinished at the end of the period are judged there.
  Score: rate x 20.
* online services (12): online dossiers (excluding those whose electronic result, where the
  procedure issues one, went back on paper) over all received; full at >= 50 %, else
  rate x 12 / 50 %.
* online payment (10): dossiers paid online over fee-bearing dossiers. Fee-bearing: a fee at
  receipt, or a financial obligation requested during processing; paid online: intake's flag
  (paid through the portal before receipt) or any of its charges paid through the payment
  platform (``payments.payment_received.v1``, method ``online``). The decision gives no
  threshold for it: scored proportionally, rate x 10.
* digitisation (22): dossiers with documents scanned and, where the procedure issues one, an
  electronic result, over all received; full at >= 80 %, else rate x 22 / 80 %.
* satisfaction (18): 100 % − (late rate + "dislike" rate); full at >= 90 %, else rate x 18 / 90 %.
  "Dislike" is a rating of 1 or 2 on the 5-level scale, or a complaint, given by the judgement
  moment (``processing.rating_given.v1``, ``processing.complaint_filed.v1``). A dossier counts
  once even if it was both late and disliked, so the rate is the share of the period's dossiers
  on time and not disliked. A unit none of whose dossiers got any feedback in the period is "not
  measured" and left out of the points available: scoring it from the late rate alone would
  hand every punctual unit full points for feedback nobody gave.

Publicity (18) and the procedures-offered-online half of the online group come from the
catalogue's events (``domain/catalogue.py``, ``with_catalogue``), added per department in
``/index766``.

An indicator with an empty denominator is not applicable (``None``), never zero; one whose inputs
do not exist is not measured (``None`` too, with the reason). Neither counts in the total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import datetime

from services.scoring.domain.dossier_facts import DossierFacts
from shared.clock import ruleset_for
from shared.clock.appointment import DEFAULT_CALENDAR


@dataclass(frozen=True)
class Indicator:
    key: str
    name_vi: str
    max_points: float
    numerator: int
    denominator: int
    rate: float | None
    points: float | None
    threshold: float | None
    status: str = "measured"  # "measured" | "not_applicable" (no dossier) | "not_measured" (no input)
    note: str | None = None


def proportional(rate: float, max_points: float, threshold: float | None) -> float:
    """Full points at or above the threshold, else rate x max / threshold (rate x max without one)."""
    if threshold is None:
        return round(min(rate, 1.0) * max_points, 4)
    if rate >= threshold:
        return max_points
    return round(rate * max_points / threshold, 4)


def in_period(f: DossierFacts, start: datetime, end: datetime) -> bool:
    if f.outcome != "received" or f.received_at is None or f.received_at >= end:
        return False
    return f.finished_at is None or f.finished_at >= start


def on_time_766(f: DossierFacts, end: datetime) -> bool:
    """Facts read at the judgement moment (the period's end, or now for a running period)."""
    rules = ruleset_for(DEFAULT_CALENDAR.to_local(f.received_at or end).date())
    allowed = rules.max_supplement_requests_on_time
    if f.supplement_requests > allowed:
        return False
    if f.finished_at is not None and f.finished_at < end:
        return f.timeliness in ("early", "on_time")
    return not f.late


def _indicator(
    key: str, name: str, max_points: float, num: int, den: int, threshold: float | None
) -> Indicator:
    rate = num / den if den else None
    if rate is None:
        return Indicator(key, name, max_points, num, den, None, None, threshold, "not_applicable")
    points = proportional(rate, max_points, threshold)
    return Indicator(key, name, max_points, num, den, rate, points, threshold)


NO_FEEDBACK = (
    "Chưa đo: chưa có đánh giá, phản ánh của người dân / not measured: no citizen rating or"
    " complaint is recorded for this unit's dossiers of the period, so the formula's dislike rate"
    " is unknown"
)


def not_measured(key: str, name: str, max_points: float, threshold: float | None, why: str) -> Indicator:
    return Indicator(key, name, max_points, 0, 0, None, None, threshold, "not_measured", why)


def online_counted(f: DossierFacts) -> bool:
    if not f.channel_kind or not f.channel_kind.startswith("online"):
        return False
    return not (f.electronic_result and f.returned_via is not None and f.returned_via != "online")


@dataclass(frozen=True)
class Tally:
    """The counts behind the indicators of one unit: what SQL and the fold path both produce."""

    members: int = 0  # dossiers of the period (progress and satisfaction denominators)
    on_time: int = 0
    received: int = 0  # received within the period (online and digitisation denominators)
    online: int = 0
    fee_bearing: int = 0
    paid_online: int = 0
    digital: int = 0
    satisfied: int = 0  # members on time and neither disliked nor complained about
    feedback: int = 0  # members rated or complained about (none: satisfaction not measured)

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def digital_counted(f: DossierFacts) -> bool:
    """Scanned, and where the procedure issues an electronic result, one was actually issued
    (``processing.electronic_result_issued``) unless the result has not been handed over yet."""
    return f.documents_scanned and (
        not f.electronic_result or f.returned_via is None or f.result_issued_at is not None
    )


def tally(facts: Iterable[DossierFacts], start: datetime, end: datetime) -> Tally:
    """The counts over facts read at ``end`` (or earlier, for a period still running)."""
    members = [f for f in facts if in_period(f, start, end)]
    received = [f for f in members if f.received_at is not None and f.received_at >= start]
    fee = [f for f in received if f.fee_vnd + f.obligations_vnd > 0]
    return Tally(
        members=len(members),
        on_time=sum(on_time_766(f, end) for f in members),
        received=len(received),
        online=sum(online_counted(f) for f in received),
        fee_bearing=len(fee),
        paid_online=sum(f.paid_online for f in fee),
        digital=sum(digital_counted(f) for f in received),
        satisfied=sum(on_time_766(f, end) and not f.dissatisfied_by(end) for f in members),
        feedback=sum(f.gave_feedback_by(end) for f in members),
    )


def indicators(facts: Iterable[DossierFacts], start: datetime, end: datetime) -> list[Indicator]:
    """The indicators over facts read at ``end`` (or earlier, for a period still running)."""
    return indicators_of(tally(facts, start, end))


def indicators_of(t: Tally) -> list[Indicator]:
    return [
        _indicator("progress", "Tiến độ giải quyết", 20, t.on_time, t.members, None),
        _indicator("online_submission", "Dịch vụ trực tuyến", 12, t.online, t.received, 0.5),
        _indicator("online_payment", "Thanh toán trực tuyến", 10, t.paid_online, t.fee_bearing, None),
        _indicator("digitisation", "Số hóa hồ sơ", 22, t.digital, t.received, 0.8),
        _indicator("satisfaction", "Mức độ hài lòng", 18, t.satisfied, t.members, 0.9)
        if t.feedback
        else not_measured("satisfaction", "Mức độ hài lòng", 18, 0.9, NO_FEEDBACK),
    ]


def total_points(items: Iterable[Indicator]) -> tuple[float, float]:
    """(points earned, points available) over the applicable indicators."""
    applicable = [i for i in items if i.points is not None]
    return (round(sum(i.points or 0 for i in applicable), 4), sum(i.max_points for i in applicable))
