"""The case a department works on for one dossier (giải quyết hồ sơ). No I/O here.

Every method that changes the case checks its rules first (``check_*``), then records one
event whose body is the state change. Each event keeps its business time (``occurred_at``),
the reason if it was entered late, and the actor. Each step also records the clock as it read
right after the step (``meta["clock"]``, absent on steps stored before), so the translator
and scoring count from it instead of running the clock again; anything else reads the clock
from the case's clock facts with the shared legal clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.processing import clock_facts
from services.processing.rules import CaseRuleViolation, InvalidCommand, InvalidTransition
from services.processing.values import Action, CaseState, ClockVerdict, PausePolicy, ReturnVia, StopKind
from shared.clock import WorkingCalendar
from shared.clock.calendars import calendar_named
from shared.clock.facts import ClockReading
from shared.clock.legal_clock import GrowingClock
from shared.clock.rulesets import RuleSet, ruleset_for

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


def step_meta(e: Any) -> dict[str, Any]:
    """When a stored case event happened, who did it, and why it was entered late.

    Later steps keep these in ``meta``; the opening event has them as its own fields.
    """
    if hasattr(e, "meta"):
        meta: dict[str, Any] = e.meta
        return meta
    # The receipt's reason (an outage at the desk, say) travels with the case it opened.
    reason = getattr(e, "backdate_reason", None)
    meta = {"occurred_at": e.occurred_at, "actor": e.actor, "backdate_reason": reason}
    opening_clock = getattr(e, "opening_clock", None)
    if opening_clock is not None:
        meta["clock"] = opening_clock
    return meta


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
    def open(cls, **fields: Any) -> Case:
        """A new case, its opening recorded with the clock as it reads then (see ``_stamped``)."""
        clock = clock_facts.growing_clock(
            legal_days=fields["legal_days"],
            legal_hours=fields["legal_hours"],
            same_day=fields.get("same_day", False),
            policy=fields["supplement_policy"],
            cutoff=fields["same_day_cutoff"],
            calendar=fields["calendar"],
        )
        received = clock_facts.fact("received", fields["received_at"], agency=fields["department_code"])
        now = max(fields["occurred_at"], fields["received_at"])
        reading = clock_facts.read([received], clock=clock, now=now)
        return cls(**fields, opening_clock=clock_facts.stamp(reading))

    @event("Opened")
    def __init__(
        self,
        # Before the ``*``: the library insists on every keyword-only argument, default or not,
        # while one of these may be left out (by callers that build a case without ``open``).
        opening_clock: dict[str, Any] | None = None,
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
        self.leadership_reports: list[dict[str, Any]] = []
        self.reappointments = 0
        self.overdue_marked = False
        self.approved: bool | None = None
        self.reasons: str | None = None
        self.result_at_desk = not postal_return
        # the result document issued electronically (id, hash, signature); None until then
        self.electronic_result: dict[str, Any] | None = None
        self.clock: list[dict[str, Any]] = [clock_facts.fact("received", received_at, agency=department_code)]
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
        return clock_facts.read(
            self.clock,
            clock=self.new_clock() if clock is None else clock,
            now=max(now, self.last_business_time),
        )

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
        return any(r["acknowledged_by"] is None for r in self.leadership_reports)

    def national_status(self) -> int:
        """TrangThaiHoSo for the national portal (docs/domain-rules.md, "National status codes")."""
        if self.state is CaseState.AWAITING_SUPPLEMENT:
            return 5
        if self.state is CaseState.STOPPED:
            return 7 if self.stop_kind is StopKind.WITHDRAWN else 8
        if self.state is CaseState.CLOSED:
            return 8
        if self.state in (CaseState.DECIDED, CaseState.RESULT_READY):
            return 9
        if self.state is CaseState.RETURNED:
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
        if any(r["return_number"] == number and r["acknowledged_by"] for r in self.leadership_reports):
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
        if any(r["return_number"] == number for r in self.leadership_reports):
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

    def assign(self, officer: str, **meta: Any) -> None:
        self._begin(Action.ASSIGN, meta)
        self._assigned(officer=officer, meta=self._stamped(meta))

    @event("OfficerAssigned")
    def _assigned(self, officer: str, meta: dict[str, Any], taken_over: bool = False) -> None:
        # taken_over: the decision-maker took the unassigned case over (absent on older events).
        self.officer = officer
        self.taken_over = taken_over
        self._touch(meta)

    def transfer(self, to_department: str, **meta: Any) -> None:
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
                meta,
                clock_facts.fact("transferred", meta["occurred_at"], agency=to_department, share_days=share),
            ),
        )

    @event("Transferred")
    def _transferred(
        self, from_department: str, to_department: str, share_days: int | None, meta: dict[str, Any]
    ) -> None:
        self.department_code = to_department
        self.clock.append(
            clock_facts.fact("transferred", meta["occurred_at"], agency=to_department, share_days=share_days)
        )
        self._touch(meta)

    def request_supplement(self, missing_items: list[str], reason: str, **meta: Any) -> None:
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
            meta=self._stamped(
                meta, clock_facts.fact("supplement_requested", meta["occurred_at"], number=number)
            ),
        )

    @event("SupplementRequested")
    def _supplement_requested(
        self, number: int, missing_items: list[str], reason: str, meta: dict[str, Any]
    ) -> None:
        self.state = CaseState.AWAITING_SUPPLEMENT
        self.supplements = number
        self.supplement_requested_at = meta["occurred_at"]
        self.clock.append(clock_facts.fact("supplement_requested", meta["occurred_at"], number=number))
        self._touch(meta)

    def receive_supplement(self, **meta: Any) -> None:
        self._begin(Action.RECEIVE_SUPPLEMENT, meta)
        paused = self.working_calendar.working_minutes_between(
            self.supplement_requested_at or meta["occurred_at"], meta["occurred_at"]
        )
        self._supplement_received(
            number=self.supplements,
            policy=self.supplement_policy,
            paused_minutes=paused,
            meta=self._stamped(meta, clock_facts.fact("supplement_completed", meta["occurred_at"])),
        )

    @event("SupplementReceived")
    def _supplement_received(
        self, number: int, policy: str, paused_minutes: int, meta: dict[str, Any]
    ) -> None:
        self.state = CaseState.IN_PROCESSING
        self.supplement_requested_at = None
        self.clock.append(clock_facts.fact("supplement_completed", meta["occurred_at"]))
        self._touch(meta)

    def close_for_no_supplement(self, **meta: Any) -> None:
        self._begin(Action.CLOSE_FOR_NO_SUPPLEMENT, meta)
        self._closed(meta=self._stamped(meta, clock_facts.fact("finished", meta["occurred_at"])))

    @event("ClosedForNoSupplement")
    def _closed(self, meta: dict[str, Any]) -> None:
        self.state = CaseState.CLOSED
        self.clock.append(clock_facts.fact("finished", meta["occurred_at"]))
        self._touch(meta)

    def report_to_leadership(self, reason: str, **meta: Any) -> None:
        self._begin(Action.REPORT_TO_LEADERSHIP, meta)
        self._reported(return_number=self.supplements + 1, reason=reason, meta=self._stamped(meta))

    @event("LeadershipReported")
    def _reported(self, return_number: int, reason: str, meta: dict[str, Any]) -> None:
        self.leadership_reports.append(
            {"return_number": return_number, "reason": reason, "acknowledged_by": None}
        )
        self._touch(meta)

    def acknowledge_leadership(self, note: str | None, **meta: Any) -> None:
        self._begin(Action.ACKNOWLEDGE_LEADERSHIP, meta)
        # Who may acknowledge is the caller's role, not the case's state: not in ``refusal``.
        if meta["actor"].get("role") != "leader":
            raise CaseRuleViolation(
                "leader_role_required",
                "Chỉ lãnh đạo mới được xác nhận báo cáo",
                "Only a leader (role 'leader') may acknowledge the report",
            )
        self._acknowledged(leader=meta["actor"]["user_id"], note=note, meta=self._stamped(meta))

    @event("LeadershipAcknowledged")
    def _acknowledged(self, leader: str, note: str | None, meta: dict[str, Any]) -> None:
        for report in self.leadership_reports:
            if report["acknowledged_by"] is None:
                report["acknowledged_by"] = leader
        self._touch(meta)

    def issue_apology(self, reason: str, new_due_at: datetime, **meta: Any) -> None:
        self._begin(Action.ISSUE_APOLOGY, meta)
        self.check_new_appointment(new_due_at, meta["occurred_at"])
        current = self.due_at(meta["occurred_at"])
        notice = self.working_calendar.working_minutes_between(meta["occurred_at"], current)
        in_time = (
            notice >= self.ruleset.apology_notice_days_before_due * self.working_calendar.minutes_per_day
        )
        self._apologised(
            reason=reason,
            previous_due_at=current,
            new_due_at=new_due_at,
            notice_in_time=in_time,
            meta=self._stamped(
                meta, clock_facts.fact("reappointed", meta["occurred_at"], new_due=new_due_at, reason=reason)
            ),
        )

    @event("ApologyIssued")
    def _apologised(
        self,
        reason: str,
        previous_due_at: datetime,
        new_due_at: datetime,
        notice_in_time: bool,
        meta: dict[str, Any],
    ) -> None:
        self.reappointments += 1
        self.clock.append(
            clock_facts.fact("reappointed", meta["occurred_at"], new_due=new_due_at, reason=reason)
        )
        self._touch(meta)

    def mark_overdue(self, **meta: Any) -> None:
        if self.state not in ACTIVE or self.overdue_marked:
            raise InvalidTransition(
                self.state, Action.MARK_OVERDUE, self.allowed_actions(meta["occurred_at"])
            )
        reading = self.read_clock(meta["occurred_at"])
        if reading.paused or ClockVerdict(reading.status) is not ClockVerdict.OVERDUE:
            raise CaseRuleViolation(
                "not_overdue", "Hồ sơ chưa quá hạn", "The dossier is not past its appointment"
            )
        self._overdue(due_at_passed=reading.due_at, meta=self._stamped(meta))

    @event("MarkedOverdue")
    def _overdue(self, due_at_passed: datetime, meta: dict[str, Any]) -> None:
        self.overdue_marked = True

    def decide(self, approved: bool, reasons: str | None, **meta: Any) -> None:
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
            self._assigned(officer=meta["actor"]["user_id"], meta=self._stamped(meta), taken_over=True)
        finished = clock_facts.fact("finished", meta["occurred_at"])
        self._decided(approved=approved, reasons=reasons, meta=self._stamped(meta, finished))

    @event("Decided")
    def _decided(self, approved: bool, reasons: str | None, meta: dict[str, Any]) -> None:
        self.state = CaseState.DECIDED
        self.approved = approved
        self.reasons = reasons
        self.clock.append(clock_facts.fact("finished", meta["occurred_at"]))
        self._touch(meta)

    def make_result_ready(self, **meta: Any) -> None:
        self._begin(Action.MAKE_RESULT_READY, meta)
        self._result_ready(meta=self._stamped(meta))

    @event("ResultReady")
    def _result_ready(self, meta: dict[str, Any]) -> None:
        self.state = CaseState.RESULT_READY
        self._touch(meta)

    def issue_result(self, document: dict[str, Any], signature: dict[str, Any] | None, **meta: Any) -> None:
        """The decision's result document, issued electronically: stored (``document`` is its
        record: id, type, size, SHA-256) and signed (``signature``), once."""
        self._begin(Action.ISSUE_RESULT, meta)
        self._result_issued(document=document, signature=signature, meta=meta)

    @event("ResultIssued")
    def _result_issued(
        self, document: dict[str, Any], signature: dict[str, Any] | None, meta: dict[str, Any]
    ) -> None:
        self.electronic_result = {"document": document, "signature": signature}
        self._touch(meta)

    def return_result(self, via: ReturnVia, received_by: str | None, **meta: Any) -> None:
        self._begin(Action.RETURN_RESULT, meta)
        if via == ReturnVia.POST and not self.postal_return:
            raise InvalidCommand(
                "not_postal",
                "Công dân không đăng ký nhận kết quả qua bưu chính",
                "The citizen did not ask for the result by post",
            )
        self._returned(via=via, received_by=received_by, meta=self._stamped(meta))

    @event("ResultReturned")
    def _returned(self, via: str, received_by: str | None, meta: dict[str, Any]) -> None:
        self.state = CaseState.RETURNED
        self._touch(meta)

    def back_at_desk(self, reason: str, **meta: Any) -> None:
        self._begin(Action.BACK_AT_DESK, meta)
        self._back_at_desk(reason=reason, meta=self._stamped(meta))

    @event("ResultBackAtDesk")
    def _back_at_desk(self, reason: str, meta: dict[str, Any]) -> None:
        self.result_at_desk = True
        self._touch(meta)

    def withdraw(self, kind: StopKind, reason: str, **meta: Any) -> None:
        self._begin(Action.WITHDRAW, meta)
        self._stopped(
            kind=kind,
            reason=reason,
            meta=self._stamped(meta, clock_facts.fact("finished", meta["occurred_at"])),
        )

    @event("Stopped")
    def _stopped(self, kind: str, reason: str, meta: dict[str, Any]) -> None:
        self.state = CaseState.STOPPED
        self.stop_kind = StopKind(kind)
        self.clock.append(clock_facts.fact("finished", meta["occurred_at"]))
        self._touch(meta)

    # -- citizens' feedback ---------------------------------------------------------------------
    # Feedback is the citizen's word about the service, not a step of the procedure: it changes
    # neither the state nor the clock, and is refused rather than ordered by the state machine.

    def rate(self, score: int, comment: str | None, source: str, **meta: Any) -> None:
        """One rating per dossier, on the 5-level scale, once the result is in the citizen's hands."""
        if self.state is not CaseState.RETURNED:
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
    def _rated(self, score: int, comment: str | None, source: str, meta: dict[str, Any]) -> None:
        self.rating = score

    def complain(self, text: str, source: str, **meta: Any) -> None:
        """Phản ánh, kiến nghị: at any time after receipt, a few per dossier (not a free channel)."""
        if self.complaints >= MAX_COMPLAINTS:
            raise CaseRuleViolation(
                "too_many_complaints",
                f"Mỗi hồ sơ nhận tối đa {MAX_COMPLAINTS} phản ánh",
                f"A dossier takes at most {MAX_COMPLAINTS} complaints",
            )
        self._complained(text=text, source=source, meta=meta)

    @event("ComplaintFiled")
    def _complained(self, text: str, source: str, meta: dict[str, Any]) -> None:
        self.complaints += 1

    # -- helpers ------------------------------------------------------------------------------

    def _begin(self, action: Action, meta: dict[str, Any]) -> None:
        self.check(action, meta["occurred_at"])

    def _stamped(self, meta: dict[str, Any], fact: dict[str, Any] | None = None) -> dict[str, Any]:
        """The step's ``meta`` with the clock as it reads after the step (its clock ``fact``
        added), so that translating the stored step needs no clock (``clock_facts.stamp``)."""
        facts = self.clock if fact is None else [*self.clock, fact]
        now = max(meta["occurred_at"], self.last_business_time)
        reading = clock_facts.read(facts, clock=self.new_clock(), now=now)
        return {**meta, "clock": clock_facts.stamp(reading)}

    def _touch(self, meta: dict[str, Any]) -> None:
        self.last_business_time = max(self.last_business_time, meta["occurred_at"])
