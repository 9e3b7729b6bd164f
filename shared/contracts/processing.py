"""Events published by the processing service (giải quyết hồ sơ).

Every event repeats the competent department and the appointment in force (``due_at``), so a
consumer never has to rebuild the case to place one event. Clock-moving events also carry the
clock's explanation line for the audit trail.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.contracts.base import Contract, EventBase


class ClockStamp(Contract):
    """The legal clock read at the event's business time, over the case's clock facts so far.

    Processing reads its clock at every step anyway; publishing the reading lets a consumer
    count instead of re-running the clock over the whole history. Absent on older events.
    """

    working_minutes: int = Field(description="running working time since receipt, pauses excluded")
    minutes_left: int = Field(description="working time left before the appointment")
    supplement_minutes: int = Field(description="working time the clock stood still")
    paused: bool = Field(description="awaiting a supplement")
    status: Literal["on_time", "due_today", "overdue", "finished_early", "finished_on_time", "finished_late"]
    late: bool = Field(description="the one lateness verdict (Decision 766)")
    late_reasons_en: list[str] = Field(default_factory=list)
    late_reasons_vi: list[str] = Field(default_factory=list)
    original_due_at: AwareDatetime
    calendar: str = Field(default="standard", description="the working calendar the clock was read with")


class CaseEvent(EventBase):
    department_code: str = Field(description="the agency holding the dossier now")
    due_at: AwareDatetime = Field(description="the appointment in force after this event")
    clock: ClockStamp | None = Field(
        default=None, description="the clock after this event (absent on older events)"
    )


class CaseOpened(CaseEvent):
    event_type: Literal["processing.case_opened.v1"] = "processing.case_opened.v1"
    procedure_code: str | None = Field(default=None, description="the procedure (absent on older events)")


class CaseTransferred(CaseEvent):
    """Liên thông: the dossier moves to another agency, with its share of the legal time."""

    event_type: Literal["processing.case_transferred.v1"] = "processing.case_transferred.v1"
    from_department: str
    to_department: str
    share_days: int | None = None


class OfficerAssigned(CaseEvent):
    event_type: Literal["processing.officer_assigned.v1"] = "processing.officer_assigned.v1"
    officer: str
    taken_over: bool = Field(
        default=False, description="nobody was assigned: the decision-maker took the case over"
    )


class SupplementRequested(CaseEvent):
    """Yêu cầu bổ sung: the clock stops; everything missing is listed at once."""

    event_type: Literal["processing.supplement_requested.v1"] = "processing.supplement_requested.v1"
    number: int = Field(ge=1, description="1 for the first return to the citizen")
    missing_items: list[str] = Field(min_length=1)
    reason: str


class SupplementReceived(CaseEvent):
    """The complete dossier is back: the clock restarts or resumes by the procedure's policy."""

    event_type: Literal["processing.supplement_received.v1"] = "processing.supplement_received.v1"
    number: int
    policy: Literal["restart", "resume"]
    paused_minutes: int = Field(description="working minutes the clock stood still")


class ClosedForNoSupplement(CaseEvent):
    """The citizen did not complete within the limit (15 working days): the dossier is closed."""

    event_type: Literal["processing.closed_no_supplement.v1"] = "processing.closed_no_supplement.v1"


class LeadershipReported(CaseEvent):
    """A second return needs a report to the leadership first."""

    event_type: Literal["processing.leadership_reported.v1"] = "processing.leadership_reported.v1"
    return_number: int
    reason: str


class LeadershipAcknowledged(CaseEvent):
    event_type: Literal["processing.leadership_acknowledged.v1"] = "processing.leadership_acknowledged.v1"
    leader: str
    note: str | None = None


class ApologyIssued(CaseEvent):
    """Thư xin lỗi: lateness foreseen, the citizen is told why and given a new appointment."""

    event_type: Literal["processing.apology_issued.v1"] = "processing.apology_issued.v1"
    previous_due_at: AwareDatetime
    reason: str
    new_due_at: AwareDatetime | None = Field(
        default=None,
        description="the new appointment as set; ``due_at`` differs while the clock is paused"
        " (absent on older events)",
    )


class MarkedOverdue(CaseEvent):
    """The appointment passed with the dossier unresolved: recorded once, late for scoring."""

    event_type: Literal["processing.marked_overdue.v1"] = "processing.marked_overdue.v1"


class DossierDecided(CaseEvent):
    """The competent agency approved or rejected the dossier."""

    event_type: Literal["processing.dossier_decided.v1"] = "processing.dossier_decided.v1"
    approved: bool
    reasons: str | None = None
    on_time: bool = Field(description="the legal clock's verdict (Decision 766: a second return is late)")
    late_reasons: list[str] = Field(default_factory=list, description="why not on time, if late")
    minutes_used: int
    supplement_minutes: int = 0


class ResultReady(CaseEvent):
    """The result is ready to go back to the citizen, at the desk or by post."""

    event_type: Literal["processing.result_ready.v1"] = "processing.result_ready.v1"
    postal_return: bool
    on_time: bool = Field(description="ready at or before the appointment")


class ResultSignature(Contract):
    """A detached signature of the result document's bytes."""

    algorithm: str = Field(examples=["Ed25519"])
    key_id: str = Field(description="the key or certificate that signed")
    value: str = Field(description="base64")
    public_key: str | None = Field(
        default=None, description="base64 raw public key, when the signer gives it"
    )


class ElectronicResultIssued(CaseEvent):
    """Kết quả điện tử: the decision's result document was issued electronically: stored by the
    agency (its id and SHA-256 here, never its bytes), signed if a signing key is configured,
    downloadable by the citizen through the tracking link."""

    event_type: Literal["processing.electronic_result_issued.v1"] = "processing.electronic_result_issued.v1"
    document_id: UUID
    media_type: str
    size: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the document's bytes")
    signature: ResultSignature | None = Field(default=None, description="None: issued unsigned")


class ResultReturned(CaseEvent):
    """Trả kết quả: the citizen has the result."""

    event_type: Literal["processing.result_returned.v1"] = "processing.result_returned.v1"
    via: Literal["desk", "post", "online"]
    received_by: str | None = None


class ResultBackAtDesk(CaseEvent):
    """A postal delivery failed or came back: the result waits at the desk for pickup."""

    event_type: Literal["processing.result_back_at_desk.v1"] = "processing.result_back_at_desk.v1"
    reason: str


class ProcessingStopped(CaseEvent):
    """Withdrawn by the citizen, or stopped, before any decision: the desk issues a stop notice."""

    event_type: Literal["processing.processing_stopped.v1"] = "processing.processing_stopped.v1"
    kind: Literal["withdrawn", "stopped"]
    reason: str


class RatingGiven(CaseEvent):
    """The citizen's rating of the service, once per dossier, after the result was returned.

    ``score`` is on the 5-level satisfaction scale: 1 rất không hài lòng (very dissatisfied),
    2 không hài lòng, 3 bình thường, 4 hài lòng, 5 rất hài lòng (very satisfied). 1 and 2 are
    the "dislike" of Decision 766's satisfaction indicator.
    """

    event_type: Literal["processing.rating_given.v1"] = "processing.rating_given.v1"
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)
    source: Literal["tracking", "kiosk"] = Field(description="the tracking page or the desk's kiosk")


class ComplaintFiled(CaseEvent):
    """Phản ánh, kiến nghị: a citizen's complaint about how the dossier is handled."""

    event_type: Literal["processing.complaint_filed.v1"] = "processing.complaint_filed.v1"
    text: str = Field(min_length=1, max_length=2000)
    source: Literal["tracking", "kiosk"]


ProcessingEvent = (
    CaseOpened
    | CaseTransferred
    | OfficerAssigned
    | SupplementRequested
    | SupplementReceived
    | ClosedForNoSupplement
    | LeadershipReported
    | LeadershipAcknowledged
    | ApologyIssued
    | MarkedOverdue
    | DossierDecided
    | ResultReady
    | ElectronicResultIssued
    | ResultReturned
    | ResultBackAtDesk
    | ProcessingStopped
    | RatingGiven
    | ComplaintFiled
)
