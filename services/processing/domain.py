"""The case a department works on for one dossier (giải quyết hồ sơ). No I/O here.

Every method that changes the case checks its rules first (``check_*``), then records one
event whose body is the state change. Each event keeps its business time (``occurred_at``),
the reason if it was entered late, and the actor (``StepMeta``). Each step also records the
clock as it read right after the step (``StepMeta.clock``, absent on steps stored before), so
the translator and scoring count from it instead of running the clock again; anything else
reads the clock from the case's clock facts with the shared legal clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.processing import clock_facts
from services.processing.rules import CaseRuleViolation, InvalidCommand, InvalidTransition
from services.processing.values import (
    Action,
    CaseState,
    ClockVerdict,
    ElectronicResult,
    FeedbackSource,
    LeadershipReport,
    PausePolicy,
    ReturnVia,
    StepClock,
    StepMeta,
    StopKind,
    StoredMeta,
)
from shared.clock import WorkingCalendar
from shared.clock.calendars import calendar_named
from shared.clock.facts import (
    ClockFact,
    ClockReading,
    Finished,
    Reappointed,
    Received,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
)
from shared.clock.legal_clock import GrowingClock
from shared.clock.rulesets import RuleSet, ruleset_for

if TYPE_CHECKING:  # commands call the case: no import at run time, either way round
    from services.processing.case_commands import OpenCase

CASE_NAMESPACE = uuid5(NAMESPACE_URL, "https://motcua.vn/case")
ACTIVE = frozenset({CaseState.IN_PROCESSING, CaseState.AWAITING_SUPPLEMENT})
FINISHED = frozenset({CaseState.RETURNED, CaseState.STOPPED, CaseState.CLOSED})

# Citizens' rating: the 5-level satisfaction scale (1 very dissatisfied … 5 very satisfied);
# 1 and 2 are the "dislike" of Decision 766's satisfaction formula.
MIN_RATING, MAX_RATING, DISLIKE_AT_MOST = 1, 5, 2
MAX_COMPLAINTS = 5

# The state machine: what may be done in each state.
ACTIONS: dict[CaseState, tuple[Action, ...]] = {
    CaseState.IN_PROCESSING: (
        Action.ASSIGN,
        Action.TRANSFER,
        Action.REQUEST_SUPPLEMENT,
        Action.REPORT_TO_LEADERSHIP,
        Action.ACKNOWLEDGE_LEADERSHIP,
        Action.ISSUE_APOLOGY,
        Action.DECIDE,
        Action.WITHDRAW,
    ),
    CaseState.AWAITING_SUPPLEMENT: (
        Action.RECEIVE_SUPPLEMENT,
        Action.CLOSE_FOR_NO_SUPPLEMENT,
        Action.ISSUE_APOLOGY,
        Action.WITHDRAW,
    ),
    CaseState.DECIDED: (Action.MAKE_RESULT_READY, Action.ISSUE_RESULT),
    CaseState.RESULT_READY: (Action.RETURN_RESULT, Action.BACK_AT_DESK, Action.ISSUE_RESULT),
    CaseState.RETURNED: (),
    CaseState.STOPPED: (),
    CaseState.CLOSED: (),
}


def case_id_for(dossier_code: str) -> UUID:
    return uuid5(CASE_NAMESPACE, dossier_code)


def step_meta(e: Any) -> StepMeta:
    """When a stored case event happened, who did it, why it was entered late, and the clock
    right after it.

    Later steps keep these in ``meta``; the opening event has them as its own fields.
    """
    if hasattr(e, "meta"):
        return StepMeta.from_stored(e.meta)
    opening_clock = getattr(e, "opening_clock", None)
    return StepMeta(
        occurred_at=e.occurred_at,
        actor=e.actor,
        # The receipt's reason (an outage at the desk, say) travels with the case it opened.
        backdate_reason=getattr(e, "backdate_reason", None),
        clock=None if opening_clock is None else StepClock.from_stored(opening_clock),
    )


def _at(meta: StoredMeta) -> datetime:
    """A stored step's business time, without building its ``StepMeta`` (folding is hot)."""
    at: datetime = meta.occurred_at if isinstance(meta, StepMeta) else meta["occurred_at"]
    return at


class Case(Aggregate):
    """Hồ sơ đang giải quyết: the competent department's side of a dossier."""

    # Defaults for cases (and snapshots) stored before these attributes existed.
    same_day = False
    taken_over = False
    rating: int | None = None
    complaints = 0

    @staticmethod
    def create_id(dossier_code: str) -> UUID:
        return case_id_for(dossier_code)

    @classmethod
    def open(cls, opening: OpenCase) -> Case:
        """A new case, its opening recorded with the clock as it reads then (see ``_stamped``)."""
        o = opening
        clock = clock_facts.growing_clock(
            legal_days=o.legal_days,
            legal_hours=o.legal_hours,
            same_day=o.same_day,
            policy=o.supplement_policy,
            cutoff=o.same_day_cutoff,
            calendar=o.calendar,
        )
        received = Received(at=o.received_at, agency=o.department_code)
        reading = clock.read([received], max(o.occurred_at, o.received_at))
        return cls(
            opening_clock=StepClock.of(reading),
            intake_steps=None if o.intake_steps is None else list(o.intake_steps),
            dossier_id=o.dossier_id,
            dossier_code=o.dossier_code,
            department_code=o.department_code,
            procedure_code=o.procedure_code,
            legal_days=o.legal_days,
            legal_hours=o.legal_hours,
            same_day_cutoff=o.same_day_cutoff,
            supplement_policy=o.supplement_policy,
            agency_shares=o.agency_shares,
            received_at=o.received_at,
            due_at=o.due_at,
            postal_return=o.postal_return,
            occurred_at=o.occurred_at,
            actor=o.actor,
            calendar=o.calendar,
            receiving_point=o.receiving_point,
            tracking_hash=o.tracking_hash,
            same_day=o.same_day,
            backdate_reason=o.backdate_reason,
        )

    @event("Opened")
    def __init__(
        self,
        # Before the ``*``: the library insists on every keyword-only argument, default or not,
        # while one of these may be left out (by callers that build a case without ``open``).
        opening_clock: StepClock | Mapping[str, Any] | None = None,
        intake_steps: list[dict[str, Any]] | None = None,
        *,
        dossier_id: UUID,
        dossier_code: str,
        department_code: str,
        procedure_code: str,
        legal_days: int | None,
        legal_hours: int | None,
        same_day_cutoff: str | None,
        supplement_policy: str,
        agency_shares: dict[str, int] | None,
        received_at: datetime,
        due_at: datetime,
        postal_return: bool,
        occurred_at: datetime,
        actor: dict[str, Any],
        calendar: str,
        receiving_point: str | None,
        tracking_hash: str | None,
        same_day: bool = False,
        backdate_reason: str | None = None,
    ) -> None:
        # ``same_day`` and ``backdate_reason`` came later: cases opened before have neither
        # (their legal time is in days or hours; their receipt was not back-dated).
        # ``opening_clock`` (the clock at the opening, for the translator) is kept on the event only.
        self.dossier_id = dossier_id
        # filed online: what happened at intake before the receipt, for the citizen's history
        self.intake_steps = intake_steps or []
        # the desk that received it keeps access (result at the desk); None on cases opened
        # before desks were recorded
        self.receiving_point = receiving_point
        # SHA-256 of the citizen's tracking secret (the secret itself is only on the receipt)
        self.tracking_hash = tracking_hash
        self.calendar = calendar
        self.dossier_code = dossier_code
        self.competent_department = department_code
        self.department_code = department_code
        self.procedure_code = procedure_code
        self.legal_days = legal_days
        self.legal_hours = legal_hours
        self.same_day = same_day
        self.same_day_cutoff = same_day_cutoff
        self.supplement_policy = PausePolicy(supplement_policy)
        self.agency_shares = agency_shares
        self.received_at = received_at
        self.appointment_at = due_at
        self.postal_return = postal_return
        self.state = CaseState.IN_PROCESSING
        self.stop_kind: StopKind | None = None
        self.officer: str | None = None
        self.taken_over = False  # the officer is the decision-maker who took the case over
        self.supplements = 0
        self.supplement_requested_at: datetime | None = None
        self.leadership_reports: list[LeadershipReport] = []
        self.reappointments = 0
        self.overdue_marked = False
        self.approved: bool | None = None
        self.reasons: str | None = None
        self.result_at_desk = not postal_return
        # the result document issued electronically; None until then
        self.electronic_result: ElectronicResult | None = None
        self.clock: list[ClockFact] = [Received(at=received_at, agency=department_code)]
        self.last_business_time = received_at

    # -- reading ------------------------------------------------------------------------------

    @property
    def working_calendar(self) -> WorkingCalendar:
        return calendar_named(self.calendar)

    @property
    def ruleset(self) -> RuleSet:
        return ruleset_for(self.working_calendar.to_local(self.received_at).date())

    def read_clock(self, now: datetime, clock: GrowingClock | None = None) -> ClockReading:
        """The clock at ``now``; ``clock``: this case's clock kept by a caller that reads it after
        each step in turn (a translator), so that each clock fact is replayed once."""
        growing = self.new_clock() if clock is None else clock
        return growing.read(self.clock, max(now, self.last_business_time))

    def new_clock(self) -> GrowingClock:
        return clock_facts.growing_clock(
            legal_days=self.legal_days,
            legal_hours=self.legal_hours,
            same_day=self.same_day,
            policy=self.supplement_policy,
            cutoff=self.same_day_cutoff,
            calendar=self.calendar,
        )

    def due_at(self, now: datetime) -> datetime:
        return self.read_clock(now).due_at

    def allowed_actions(self, now: datetime | None = None) -> list[Action]:
        """The actions that would be accepted at ``now``: the same checks the commands make
        (``refusal``), so a page that offers only these never offers a refusal. The inputs an
        action needs (reasons, a later date) are checked by the command itself."""
        at = datetime.now(UTC) if now is None else now
        return [action for action in ACTIONS[self.state] if self.refusal(action, at) is None]

    def pending_leadership(self) -> bool:
        return any(r.acknowledged_by is None for r in self.leadership_reports)

    def national_status(self) -> int:
        """TrangThaiHoSo for the national portal (docs/domain-rules.md, "National status codes")."""
        if self.state == CaseState.AWAITING_SUPPLEMENT:
            return 5
        if self.state == CaseState.STOPPED:
            return 7 if self.stop_kind == StopKind.WITHDRAWN else 8
        if self.state == CaseState.CLOSED:
            return 8
        if self.state in (CaseState.DECIDED, CaseState.RESULT_READY):
            return 9
        if self.state == CaseState.RETURNED:
            return 10
        return 4

    # -- rules --------------------------------------------------------------------------------

    def refusal(self, action: Action, at: datetime) -> CaseRuleViolation | None:
        """Why ``action`` would be refused at ``at`` whatever its inputs, or None: the one place
        that decides, for the commands (which raise it) and for ``allowed_actions`` (which lists
        the actions it lets through)."""
        if action not in ACTIONS[self.state]:
            return InvalidTransition(
                self.state, action, [a for a in ACTIONS[self.state] if self.refusal(a, at) is None]
            )
        if at < self.last_business_time:
            return InvalidCommand(
                "out_of_order",
                "Thời điểm xảy ra sớm hơn bước trước đó của hồ sơ",
                f"occurred_at lies before the case's previous step ({self.last_business_time.isoformat()})",
                previous_step_at=self.last_business_time.isoformat(),
            )
        precondition = self._preconditions().get(action)
        return None if precondition is None else precondition(at)

    def _preconditions(self) -> dict[Action, Callable[[datetime], CaseRuleViolation | None]]:
        return {
            Action.REQUEST_SUPPLEMENT: self._supplement_request_refusal,
            Action.CLOSE_FOR_NO_SUPPLEMENT: self._closing_refusal,
            Action.REPORT_TO_LEADERSHIP: self._report_refusal,
            Action.ACKNOWLEDGE_LEADERSHIP: self._acknowledgement_refusal,
            Action.ISSUE_APOLOGY: self._reappointment_refusal,
            Action.ISSUE_RESULT: self._result_issue_refusal,
        }

    def _result_issue_refusal(self, _: datetime) -> CaseRuleViolation | None:
        if getattr(self, "electronic_result", None) is not None:  # cases from before have none
            return CaseRuleViolation(
                "result_already_issued",
                "Kết quả điện tử của hồ sơ này đã được phát hành",
                "The electronic result of this dossier was already issued",
            )
        return None

    def check(self, action: Action, at: datetime) -> None:
        refused = self.refusal(action, at)
        if refused is not None:
            raise refused

    def _supplement_request_refusal(self, at: datetime) -> CaseRuleViolation | None:
        return self._leadership_for_return_refusal(self.supplements + 1) or self._window_refusal(at)

    def _window_refusal(self, at: datetime) -> CaseRuleViolation | None:
        """The window runs from the latest (re)start of the clock (the receipt, or the complete
        dossier after a return) and counts only running working time: a paused clock uses none."""
        window = self.ruleset.supplement_request_window_hours
        start = self.read_clock(at).running_since or at
        used = max(0, self.working_calendar.working_minutes_between(start, at))
        if used <= window * 60:
            return None
        return CaseRuleViolation(
            "supplement_window_passed",
            f"Yêu cầu bổ sung phải gửi trong {window} giờ làm việc kể từ khi tiếp nhận"
            " (hoặc nhận lại hồ sơ đầy đủ)",
            f"A supplement request must go out within {window} working hours of receipt"
            f" (or of the complete dossier's return) ({used // 60} h {used % 60} min have passed)",
            window_hours=window,
            window_started_at=start.isoformat(),
            working_minutes_since_start=used,
        )

    def _leadership_for_return_refusal(self, number: int) -> CaseRuleViolation | None:
        if number < 2:
            return None
        if any(r.return_number == number and r.acknowledged_by for r in self.leadership_reports):
            return None
        return CaseRuleViolation(
            "leadership_report_required",
            f"Trả hồ sơ lần thứ {number} phải báo cáo và được lãnh đạo xác nhận trước",
            f"Return #{number} needs a report to the leadership, acknowledged by a leader, first",
            return_number=number,
            pending_report=self.pending_leadership(),
        )

    def _closing_refusal(self, at: datetime) -> CaseRuleViolation | None:
        limit = self.ruleset.supplement_deadline_days
        waited = self.working_calendar.working_minutes_between(self.supplement_requested_at or at, at)
        if waited >= limit * self.working_calendar.minutes_per_day:
            return None
        return CaseRuleViolation(
            "supplement_deadline_not_reached",
            f"Công dân còn thời hạn bổ sung ({limit} ngày làm việc)",
            f"The citizen still has time to supplement ({limit} working days)",
            waited_working_minutes=waited,
        )

    def _report_refusal(self, at: datetime) -> CaseRuleViolation | None:
        number = self.supplements + 1
        if number < 2:
            return InvalidCommand(
                "leadership_report_not_needed",
                "Chỉ cần báo cáo lãnh đạo khi trả hồ sơ từ lần thứ hai",
                "A report to the leadership is needed from the second return on",
            )
        if any(r.return_number == number for r in self.leadership_reports):
            return CaseRuleViolation(
                "leadership_already_reported",
                "Đã báo cáo lãnh đạo cho lần trả này",
                "This return was already reported to the leadership",
            )
        return None

    def _acknowledgement_refusal(self, at: datetime) -> CaseRuleViolation | None:
        if self.pending_leadership():
            return None
        return CaseRuleViolation(
            "no_pending_report", "Không có báo cáo nào chờ lãnh đạo", "No report awaits the leadership"
        )

    def _reappointment_refusal(self, at: datetime) -> CaseRuleViolation | None:
        limit = self.ruleset.max_reappointments
        if self.reappointments < limit:
            return None
        return CaseRuleViolation(
            "reappointment_limit",
            f"Chỉ được hẹn lại ngày trả kết quả tối đa {limit} lần",
            f"The appointment may be re-set at most {limit} time(s)",
            reappointments=self.reappointments,
        )

    def check_new_appointment(self, new_due_at: datetime, now: datetime) -> None:
        """The new date itself (the limit on re-appointments is the action's precondition)."""
        current = self.due_at(now)
        if new_due_at <= current:
            raise InvalidCommand(
                "new_appointment_not_later",
                "Ngày hẹn mới phải sau ngày hẹn hiện tại",
                f"The new appointment must be after the current one ({current.isoformat()})",
                current_due_at=current.isoformat(),
            )
        # Within a working session, or at its very end (11:30 closes a morning as 17:00 a day).
        cal = self.working_calendar
        if not cal.is_working_moment(new_due_at) and not cal.is_working_moment(
            new_due_at - timedelta(minutes=1)
        ):
            raise InvalidCommand(
                "new_appointment_not_working_time",
                "Ngày hẹn mới phải rơi vào giờ làm việc",
                "The new appointment must fall within office hours on a working day",
            )

    # -- commands -----------------------------------------------------------------------------
    # A command takes the step's ``StepMeta``; the event it records keeps it, stamped with the
    # clock. An event method reads its ``meta`` as stored: a ``StepMeta``, or on rows stored
    # before it a plain dict (``StoredMeta``), hence ``_at`` there rather than ``.occurred_at``.

    def assign(self, officer: str, meta: StepMeta) -> None:
        self._begin(Action.ASSIGN, meta)
        self._assigned(officer=officer, meta=self._stamped(meta))

    @event("OfficerAssigned")
    def _assigned(self, officer: str, meta: StoredMeta, taken_over: bool = False) -> None:
        # taken_over: the decision-maker took the unassigned case over (absent on older events).
        self.officer = officer
        self.taken_over = taken_over
        self._touch(meta)

    def transfer(self, to_department: str, meta: StepMeta) -> None:
        self._begin(Action.TRANSFER, meta)
        if to_department == self.department_code:
            raise InvalidCommand(
                "same_department", "Hồ sơ đang ở chính cơ quan này", "The case is already there"
            )
        share = (self.agency_shares or {}).get(to_department)
        self._transferred(
            from_department=self.department_code,
            to_department=to_department,
            share_days=share,
            meta=self._stamped(
                meta, Transferred(at=meta.occurred_at, agency=to_department, share_days=share)
            ),
        )

    @event("Transferred")
    def _transferred(
        self, from_department: str, to_department: str, share_days: int | None, meta: StoredMeta
    ) -> None:
        self.department_code = to_department
        self.clock.append(Transferred(at=_at(meta), agency=to_department, share_days=share_days))
        self._touch(meta)

    def request_supplement(self, missing_items: list[str], reason: str, meta: StepMeta) -> None:
        self._begin(Action.REQUEST_SUPPLEMENT, meta)
        if not missing_items:
            raise InvalidCommand(
                "missing_items_required",
                "Phải liệt kê đầy đủ các giấy tờ cần bổ sung trong một lần",
                "List everything missing, all at once",
            )
        number = self.supplements + 1
        self._supplement_requested(
            number=number,
            missing_items=missing_items,
            reason=reason,
            meta=self._stamped(meta, SupplementRequested(at=meta.occurred_at, number=number)),
        )

    @event("SupplementRequested")
    def _supplement_requested(
        self, number: int, missing_items: list[str], reason: str, meta: StoredMeta
    ) -> None:
        self.state = CaseState.AWAITING_SUPPLEMENT
        self.supplements = number
        self.supplement_requested_at = _at(meta)
        self.clock.append(SupplementRequested(at=_at(meta), number=number))
        self._touch(meta)

    def receive_supplement(self, meta: StepMeta) -> None:
        self._begin(Action.RECEIVE_SUPPLEMENT, meta)
        paused = self.working_calendar.working_minutes_between(
            self.supplement_requested_at or meta.occurred_at, meta.occurred_at
        )
        self._supplement_received(
            number=self.supplements,
            policy=self.supplement_policy,
            paused_minutes=paused,
            meta=self._stamped(meta, SupplementCompleted(at=meta.occurred_at)),
        )

    @event("SupplementReceived")
    def _supplement_received(self, number: int, policy: str, paused_minutes: int, meta: StoredMeta) -> None:
        self.state = CaseState.IN_PROCESSING
        self.supplement_requested_at = None
        self.clock.append(SupplementCompleted(at=_at(meta)))
        self._touch(meta)

    def close_for_no_supplement(self, meta: StepMeta) -> None:
        self._begin(Action.CLOSE_FOR_NO_SUPPLEMENT, meta)
        self._closed(meta=self._stamped(meta, Finished(at=meta.occurred_at)))

    @event("ClosedForNoSupplement")
    def _closed(self, meta: StoredMeta) -> None:
        self.state = CaseState.CLOSED
        self.clock.append(Finished(at=_at(meta)))
        self._touch(meta)

    def report_to_leadership(self, reason: str, meta: StepMeta) -> None:
        self._begin(Action.REPORT_TO_LEADERSHIP, meta)
        self._reported(return_number=self.supplements + 1, reason=reason, meta=self._stamped(meta))

    @event("LeadershipReported")
    def _reported(self, return_number: int, reason: str, meta: StoredMeta) -> None:
        self.leadership_reports.append(LeadershipReport(return_number=return_number, reason=reason))
        self._touch(meta)

    def acknowledge_leadership(self, note: str | None, meta: StepMeta) -> None:
        self._begin(Action.ACKNOWLEDGE_LEADERSHIP, meta)
        # Who may acknowledge is the caller's role, not the case's state: not in ``refusal``.
        if meta.actor.get("role") != "leader":
            raise CaseRuleViolation(
                "leader_role_required",
                "Chỉ lãnh đạo mới được xác nhận báo cáo",
                "Only a leader (role 'leader') may acknowledge the report",
            )
        self._acknowledged(leader=meta.actor["user_id"], note=note, meta=self._stamped(meta))

    @event("LeadershipAcknowledged")
    def _acknowledged(self, leader: str, note: str | None, meta: StoredMeta) -> None:
        self.leadership_reports = [
            replace(r, acknowledged_by=leader) if r.acknowledged_by is None else r
            for r in self.leadership_reports
        ]
        self._touch(meta)

    def issue_apology(self, reason: str, new_due_at: datetime, meta: StepMeta) -> None:
        self._begin(Action.ISSUE_APOLOGY, meta)
        at = meta.occurred_at
        self.check_new_appointment(new_due_at, at)
        current = self.due_at(at)
        notice = self.working_calendar.working_minutes_between(at, current)
        in_time = (
            notice >= self.ruleset.apology_notice_days_before_due * self.working_calendar.minutes_per_day
        )
        self._apologised(
            reason=reason,
            previous_due_at=current,
            new_due_at=new_due_at,
            notice_in_time=in_time,
            meta=self._stamped(meta, Reappointed(at=at, new_due=new_due_at, reason=reason)),
        )

    @event("ApologyIssued")
    def _apologised(
        self,
        reason: str,
        previous_due_at: datetime,
        new_due_at: datetime,
        notice_in_time: bool,
        meta: StoredMeta,
    ) -> None:
        self.reappointments += 1
        self.clock.append(Reappointed(at=_at(meta), new_due=new_due_at, reason=reason))
        self._touch(meta)

    def mark_overdue(self, meta: StepMeta) -> None:
        if self.state not in ACTIVE or self.overdue_marked:
            raise InvalidTransition(self.state, Action.MARK_OVERDUE, self.allowed_actions(meta.occurred_at))
        reading = self.read_clock(meta.occurred_at)
        if reading.paused or ClockVerdict(reading.status) is not ClockVerdict.OVERDUE:
            raise CaseRuleViolation(
                "not_overdue", "Hồ sơ chưa quá hạn", "The dossier is not past its appointment"
            )
        self._overdue(due_at_passed=reading.due_at, meta=self._stamped(meta))

    @event("MarkedOverdue")
    def _overdue(self, due_at_passed: datetime, meta: StoredMeta) -> None:
        self.overdue_marked = True

    def decide(self, approved: bool, reasons: str | None, meta: StepMeta) -> None:
        """A decision on a case nobody was assigned to is taken over by its decision-maker, and
        the control sheet says so in a row of its own: every dossier has a handling officer."""
        self._begin(Action.DECIDE, meta)
        if not approved and not (reasons and reasons.strip()):
            raise InvalidCommand(
                "reasons_required",
                "Từ chối giải quyết phải nêu rõ lý do",
                "A rejection must state its reasons",
            )
        if self.officer is None:
            self._assigned(officer=meta.actor["user_id"], meta=self._stamped(meta), taken_over=True)
        finished = Finished(at=meta.occurred_at)
        self._decided(approved=approved, reasons=reasons, meta=self._stamped(meta, finished))

    @event("Decided")
    def _decided(self, approved: bool, reasons: str | None, meta: StoredMeta) -> None:
        self.state = CaseState.DECIDED
        self.approved = approved
        self.reasons = reasons
        self.clock.append(Finished(at=_at(meta)))
        self._touch(meta)

    def make_result_ready(self, meta: StepMeta) -> None:
        self._begin(Action.MAKE_RESULT_READY, meta)
        self._result_ready(meta=self._stamped(meta))

    @event("ResultReady")
    def _result_ready(self, meta: StoredMeta) -> None:
        self.state = CaseState.RESULT_READY
        self._touch(meta)

    def issue_result(
        self, document: dict[str, Any], signature: dict[str, Any] | None, meta: StepMeta
    ) -> None:
        """The decision's result document, issued electronically: stored (``document`` is its
        record: id, type, size, SHA-256) and signed (``signature``), once."""
        self._begin(Action.ISSUE_RESULT, meta)
        self._result_issued(document=document, signature=signature, meta=meta)

    @event("ResultIssued")
    def _result_issued(
        self, document: dict[str, Any], signature: dict[str, Any] | None, meta: StoredMeta
    ) -> None:
        self.electronic_result = ElectronicResult(document=document, signature=signature)
        self._touch(meta)

    def return_result(self, via: ReturnVia, received_by: str | None, meta: StepMeta) -> None:
        self._begin(Action.RETURN_RESULT, meta)
        if via == ReturnVia.POST and not self.postal_return:
            raise InvalidCommand(
                "not_postal",
                "Công dân không đăng ký nhận kết quả qua bưu chính",
                "The citizen did not ask for the result by post",
            )
        self._returned(via=via, received_by=received_by, meta=self._stamped(meta))

    @event("ResultReturned")
    def _returned(self, via: str, received_by: str | None, meta: StoredMeta) -> None:
        self.state = CaseState.RETURNED
        self._touch(meta)

    def back_at_desk(self, reason: str, meta: StepMeta) -> None:
        self._begin(Action.BACK_AT_DESK, meta)
        self._back_at_desk(reason=reason, meta=self._stamped(meta))

    @event("ResultBackAtDesk")
    def _back_at_desk(self, reason: str, meta: StoredMeta) -> None:
        self.result_at_desk = True
        self._touch(meta)

    def withdraw(self, kind: StopKind, reason: str, meta: StepMeta) -> None:
        self._begin(Action.WITHDRAW, meta)
        self._stopped(kind=kind, reason=reason, meta=self._stamped(meta, Finished(at=meta.occurred_at)))

    @event("Stopped")
    def _stopped(self, kind: str, reason: str, meta: StoredMeta) -> None:
        self.state = CaseState.STOPPED
        self.stop_kind = StopKind(kind)
        self.clock.append(Finished(at=_at(meta)))
        self._touch(meta)

    # -- citizens' feedback ---------------------------------------------------------------------
    # Feedback is the citizen's word about the service, not a step of the procedure: it changes
    # neither the state nor the clock, and is refused rather than ordered by the state machine.

    def rate(self, score: int, comment: str | None, source: FeedbackSource, meta: StepMeta) -> None:
        """One rating per dossier, on the 5-level scale, once the result is in the citizen's hands."""
        if self.state != CaseState.RETURNED:
            raise CaseRuleViolation(
                "rating_before_result",
                "Chỉ đánh giá được sau khi đã nhận kết quả",
                "A dossier can be rated only after its result was returned",
                state=self.state,
            )
        if self.rating is not None:
            raise CaseRuleViolation(
                "already_rated",
                "Hồ sơ này đã được đánh giá",
                "This dossier has already been rated",
                rating=self.rating,
            )
        if not MIN_RATING <= score <= MAX_RATING:
            raise InvalidCommand(
                "rating_out_of_scale",
                f"Mức đánh giá từ {MIN_RATING} đến {MAX_RATING}",
                f"A rating is from {MIN_RATING} to {MAX_RATING}",
            )
        self._rated(score=score, comment=comment, source=source, meta=meta)

    @event("RatingGiven")
    def _rated(self, score: int, comment: str | None, source: str, meta: StoredMeta) -> None:
        self.rating = score

    def complain(self, text: str, source: FeedbackSource, meta: StepMeta) -> None:
        """Phản ánh, kiến nghị: at any time after receipt, a few per dossier (not a free channel)."""
        if self.complaints >= MAX_COMPLAINTS:
            raise CaseRuleViolation(
                "too_many_complaints",
                f"Mỗi hồ sơ nhận tối đa {MAX_COMPLAINTS} phản ánh",
                f"A dossier takes at most {MAX_COMPLAINTS} complaints",
            )
        self._complained(text=text, source=source, meta=meta)

    @event("ComplaintFiled")
    def _complained(self, text: str, source: str, meta: StoredMeta) -> None:
        self.complaints += 1

    # -- helpers ------------------------------------------------------------------------------

    def _begin(self, action: Action, meta: StepMeta) -> None:
        self.check(action, meta.occurred_at)

    def _stamped(self, meta: StepMeta, fact: ClockFact | None = None) -> StepMeta:
        """The step's ``meta`` with the clock as it reads after the step (its clock ``fact``
        added), so that translating the stored step needs no clock."""
        facts = self.clock if fact is None else [*self.clock, fact]
        now = max(meta.occurred_at, self.last_business_time)
        return meta.stamped(StepClock.of(self.new_clock().read(facts, now)))

    def _touch(self, meta: StoredMeta) -> None:
        self.last_business_time = max(self.last_business_time, _at(meta))
