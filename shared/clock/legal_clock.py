"""The legal clock: a pure function from clock facts (business time) to a dated, explained reading.

Counting convention (applied everywhere: intake appointment, processing, scoring)
--------------------------------------------------------------------------------
1. The clock starts at the receipt of a *complete* dossier (for a postal filing, when the agency
   takes it over from the postal staff). Received outside office hours, it starts at the next
   working moment. With the local same-day cut-off ("received after 15:00 counts from the next
   working day"), a dossier received on a working day at or after the cut-off starts at the opening
   of the next working day (common provincial practice: an afternoon receipt counts from the next
   working morning).
2. Legal time is counted in working minutes of office time from that start: N working days are
   N x 8 office hours, working hours are 60 minutes each, and "same day" runs to the end of the
   working day on which the clock starts. Weekends, public holidays (``holidays.VN`` plus the local
   override table) and the lunch break count for nothing; make-up working Saturdays count.
   So 1 working day received Mon 09:00 is due Tue 09:00, and time that runs out exactly at the end of
   a session is due at that moment (11:30 or 17:00), not at the next opening.
   Source and deviation: Civil Code 2015 Art. 147 makes a limit in hours run from the moment of the
   event and a limit in days from the day after; Art. 148 ends a limit falling on a day off at the
   end of the next working day. Counting days as blocks of 8 office hours from the receipt moment
   applies the hours rule to the converted limit and never ends on a day off; it gives the same date
   as Art. 147 cl. 2 for receipts at the opening hour and is stricter (earlier) by the part of the
   receipt day already gone otherwise. The appointment printed on the receipt slip (form 01,
   Circular 03/2025) is this date-time, so the slip and the clock always agree.
3. The due date-time is a moment. Finished at or before ``due_at`` is on time; "finished_early" when at
   least one full working day (8 h) was left; after it, late. An unfinished dossier is "due_today"
   when ``due_at`` falls on today's local date and has not passed, "overdue" once it has.
   Lateness is sticky: a dossier that ran past its due stays late whatever happens next.
   The reading's ``late`` / ``late_reasons`` is the one verdict every service uses: past the
   appointment, or returned for supplements more often than the rule set allows (Decision
   766/QĐ-TTg, 2022: more than one request is late), which also makes a finish "finished_late".
4. Supplements: the clock stops at the request and the paused working time is reported
   (Decision 766 subtracts it). On the complete dossier, policy "restart" gives a full new legal time
   from the complete dossier (Decree 297/2025 Art. 6 cl. 4(a)); "resume" deducts the time already
   used. While paused, ``due_at`` is provisional: the date that would apply if the complete dossier
   arrived at ``now`` (views show "paused since …, N working hours left" and this date only as a
   labelled projection). ``running_since`` is the latest (re)start: the supplement request window
   (8 working hours) runs from there over running time only. A dossier finished during a pause is
   judged the same way at its finish.
5. A re-appointment (apology + new date) replaces the due date; later pauses shift it like any due.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from shared.clock.appointment import DEFAULT_CALENDAR
from shared.clock.calendar import WorkingCalendar
from shared.clock.clock_reading import reading_at
from shared.clock.clock_run import ClockRun
from shared.clock.facts import ClockFact, ClockReading, Received
from shared.clock.legal_time import LegalTime
from shared.clock.rulesets import SupplementPolicy


def read_clock(
    facts: Sequence[ClockFact],
    *,
    legal_time: LegalTime,
    now: datetime,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
    policy: SupplementPolicy = "restart",
    cutoff: time | None = None,
) -> ClockReading:
    """Replay the facts (first one ``Received``, in business-time order) and read the clock at ``now``.

    Raises ValueError for an impossible sequence (facts out of order, a completion without a request,
    anything after ``Finished``, ``now`` before the last fact) or naive datetimes.
    """
    clock = GrowingClock(legal_time=legal_time, calendar=calendar, policy=policy, cutoff=cutoff)
    return clock.read(facts, now)


class GrowingClock:
    """``read_clock`` over one dossier's facts as they grow, replaying only the facts added since
    the last read (a translator reads the clock after every step of a case).

    Reading the same facts gives exactly ``read_clock``'s reading: the run is the same object
    applied to the same facts in the same order. Facts that are not an extension of those already
    applied (or a run that an impossible fact left half-applied) are replayed from the start.
    """

    def __init__(
        self,
        *,
        legal_time: LegalTime,
        calendar: WorkingCalendar = DEFAULT_CALENDAR,
        policy: SupplementPolicy = "restart",
        cutoff: time | None = None,
    ) -> None:
        self.legal_time, self.calendar, self.policy, self.cutoff = legal_time, calendar, policy, cutoff
        self._run: ClockRun | None = None
        self._applied: list[ClockFact] = []

    def read(self, facts: Sequence[ClockFact], now: datetime) -> ClockReading:
        done = len(self._applied)
        if self._run is None or len(facts) < done or (done and facts[done - 1] != self._applied[-1]):
            if not facts or not isinstance(facts[0], Received):
                raise ValueError("the first clock fact must be Received")
            self._run = ClockRun(self.calendar, self.legal_time, self.policy, self.cutoff, facts[0])
            self._applied, done = [facts[0]], 1
        run = self._run
        try:
            for fact in facts[done:]:
                run.apply(fact)
                self._applied.append(fact)
        except ValueError:
            self._run = None  # half-applied: start again next time, as read_clock would
            raise
        return reading_at(run, now)
