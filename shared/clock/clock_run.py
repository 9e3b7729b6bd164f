"""The mutable fold behind ``read_clock``: one method per clock fact. See legal_clock for the rules."""

from __future__ import annotations

from datetime import date, datetime, time

from shared.clock.appointment import clock_start
from shared.clock.calendar import WorkingCalendar
from shared.clock.explain import (
    due_line,
    finished_line,
    finished_paused_line,
    paused_line,
    reappointed_again_line,
    reappointed_line,
    received_line,
    requested_line,
    restarted_line,
    resumed_line,
    returned_too_often_line,
    start_line,
    transferred_line,
)
from shared.clock.explanation import Explanation
from shared.clock.facts import (
    ClockFact,
    Finished,
    Reappointed,
    Received,
    Status,
    SupplementCompleted,
    SupplementRequested,
    Transferred,
)
from shared.clock.legal_time import LegalTime
from shared.clock.rulesets import RULESETS, SupplementPolicy, ruleset_for

RESTART_BASIS = "Decree 297/2025 Art. 6 cl. 4(a)"
REAPPOINT_BASIS = "Decree 118/2025; Decree 297/2025 Art. 6 cl. 5"


class ClockRun:
    def __init__(
        self,
        calendar: WorkingCalendar,
        legal: LegalTime,
        policy: SupplementPolicy,
        cutoff: time | None,
        received: Received,
    ) -> None:
        self.cal, self.legal, self.policy, self.cutoff = calendar, legal, policy, cutoff
        self.received_at = calendar.to_local(received.at)
        self.started_at = clock_start(received.at, calendar, cutoff)
        self.budget = legal.to_minutes(calendar, self.started_at)
        self.used = 0  # against the current budget, up to ``mark``
        self.processing = 0  # all running minutes up to ``mark``
        self.mark = self.started_at  # running time before this moment is accounted for
        self.due_at = calendar.add_working_time(self.started_at, self.budget)
        self.original_due_at = self.due_at
        self.paused_since: datetime | None = None
        self.supplements = self.supplement_minutes = self.reappointments = 0
        self.late = False
        self.passed_due: datetime | None = None  # the appointment the clock ran past, if any
        self.running_since: datetime | None = self.started_at  # latest (re)start; None while paused
        self.returns_allowed = _returns_allowed(self.received_at.date())
        self.finished_at: datetime | None = None
        self.last_at = self.received_at
        self.agency = received.agency
        self.agency_minutes: dict[str, int] = {received.agency: 0}
        self.agency_share: dict[str, int | None] = {received.agency: None}
        self.why = Explanation(calendar)
        self.why.say(received_line, calendar, received.at, legal)
        if self.started_at != self.received_at:
            self.why.say(start_line, calendar, cutoff, self.received_at, self.started_at)
        self._explain_due(self.started_at)

    # ----- facts --------------------------------------------------------------------------------

    def apply(self, fact: ClockFact) -> None:
        at = self.cal.to_local(fact.at)
        if self.finished_at is not None:
            raise ValueError(f"{type(fact).__name__} after Finished")
        if at < self.last_at:
            raise ValueError(f"{type(fact).__name__} at {at} is before the previous fact")
        self.last_at = at
        if self.paused_since is None:
            self._account(at)
        if isinstance(fact, SupplementRequested):
            self._request(at, fact)
        elif isinstance(fact, SupplementCompleted):
            self._complete(at)
        elif isinstance(fact, Transferred):
            self._transfer(at, fact)
        elif isinstance(fact, Reappointed):
            self._reappoint(at, fact)
        elif isinstance(fact, Finished):
            self._finish(at)
        else:
            raise ValueError(f"unexpected clock fact {fact!r}")

    def _account(self, at: datetime) -> None:
        minutes = max(0, self.cal.working_minutes_between(self.mark, at))
        self.used += minutes
        self.processing += minutes
        self.agency_minutes[self.agency] += minutes
        self.mark = max(self.mark, at)
        if at > self.due_at:
            self._passed(self.due_at)

    def _request(self, at: datetime, fact: SupplementRequested) -> None:
        if self.paused_since is not None:
            raise ValueError("supplement requested while already paused")
        self.paused_since, self.supplements = at, self.supplements + 1
        self.running_since = None
        self.why.say(requested_line, self.cal, fact.number, at, self.used)
        if self.supplements > self.returns_allowed:
            self.why.say(returned_too_often_line, self.supplements, self.returns_allowed)

    def _end_pause(self, at: datetime) -> datetime:
        if self.paused_since is None:
            raise ValueError("supplement completed without a pending request")
        paused = max(0, self.cal.working_minutes_between(self.paused_since, at))
        self.supplement_minutes += paused
        self.paused_since = None
        self.why.say(paused_line, self.cal, paused, self.supplements)
        return clock_start(at, self.cal, self.cutoff)

    def resumed(self, start: datetime) -> tuple[int, int, datetime]:
        """(budget, used, due) if the clock (re)starts at ``start`` under the policy."""
        if self.policy == "restart":
            budget = self.legal.to_minutes(self.cal, start)
            return budget, 0, self.cal.add_working_time(start, budget)
        left = self.budget - self.used
        due = self.cal.add_working_time(start, left) if left > 0 else self.due_at
        return self.budget, self.used, due

    def _complete(self, at: datetime) -> None:
        start = self._end_pause(at)
        self.budget, self.used, self.due_at = self.resumed(start)
        self.mark = start
        self.running_since = start
        if self.policy == "restart":
            self.why.say(restarted_line, self.cal, self.legal, at, RESTART_BASIS)
        else:
            self.why.say(resumed_line, self.cal, self.used, max(0, self.budget - self.used))
        if start != at:
            self.why.say(start_line, self.cal, self.cutoff, at, start)
        self._explain_due(start)

    def _transfer(self, at: datetime, fact: Transferred) -> None:
        self.agency = fact.agency
        self.agency_minutes.setdefault(fact.agency, 0)
        share = None if fact.share_days is None else fact.share_days * self.cal.minutes_per_day
        if share is not None or fact.agency not in self.agency_share:
            self.agency_share[fact.agency] = share
        self.why.say(transferred_line, self.cal, fact.agency, at, share)

    def _reappoint(self, at: datetime, fact: Reappointed) -> None:
        self.reappointments += 1
        old, self.due_at = self.due_at, self.cal.to_local(fact.new_due)
        # Keep the budget consistent with the new date, so later pauses shift it like any due.
        point = at if self.paused_since is None else self.paused_since
        self.budget = self.used + max(0, self.cal.working_minutes_between(point, self.due_at))
        self.why.say(reappointed_line, self.cal, self.due_at, old, fact.reason)
        if self.reappointments > 1:
            self.why.say(reappointed_again_line, self.reappointments, REAPPOINT_BASIS)

    def _finish(self, at: datetime) -> None:
        if self.paused_since is not None:
            self.why.say(finished_paused_line, self.supplements)
            start = self._end_pause(at)
            self.budget, self.used, self.due_at = self.resumed(start)
        self.finished_at = at
        if at > self.due_at:
            self._passed(self.due_at)
        # Nothing moves a finished run, so its verdict can be worded later.
        self.why.say(finished_line, self.cal, at, self.finished_status, self.due_at)

    # ----- reading ------------------------------------------------------------------------------

    def _passed(self, due: datetime) -> None:
        self.late = True
        if self.passed_due is None:
            self.passed_due = due

    @property
    def returned_too_often(self) -> bool:
        return self.supplements > self.returns_allowed

    def finished_status(self, at: datetime) -> Status:
        """The verdict at the finish: late past the appointment, and also (Decision 766) when
        returned for supplements more often than allowed, even if it finished early."""
        if self.late or at > self.due_at or self.returned_too_often:
            return "finished_late"
        early = self.cal.working_minutes_between(at, self.due_at) >= self.cal.minutes_per_day
        return "finished_early" if early else "finished_on_time"

    # ----- explanation helpers ------------------------------------------------------------------

    def _explain_due(self, start: datetime) -> None:
        self.why.days_between(start, self.due_at)
        self.why.say(due_line, self.cal, self.due_at)


def _returns_allowed(received_on: date) -> int:
    """Supplement requests allowed before Decision 766 counts the dossier late, by the rule set
    in force on the receipt day (the earliest set's value for dossiers older than every set)."""
    try:
        return ruleset_for(received_on).max_supplement_requests_on_time
    except ValueError:
        return min(RULESETS, key=lambda r: r.effective_from).max_supplement_requests_on_time
