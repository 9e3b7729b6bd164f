"""Reading a replayed clock at ``now``, without changing it (the same run can be read many times)."""

from __future__ import annotations

from datetime import datetime

from shared.clock.appointment import clock_start
from shared.clock.clock_run import ClockRun
from shared.clock.explain import agency_lines, overdue_line, paused_since_line
from shared.clock.facts import AgencyTime, ClockReading, Status
from shared.clock.verdict import late_reasons


def reading_at(run: ClockRun, now: datetime) -> ClockReading:
    """The clock reading at ``now`` (local), computed from the run without changing it."""
    now = run.cal.to_local(now)
    if now < run.last_at:
        raise ValueError("now is before the last clock fact")
    budget, used, processing, due = run.budget, run.used, run.processing, run.due_at
    agency_minutes, supplement_minutes = dict(run.agency_minutes), run.supplement_minutes
    late, why, passed_due = run.late, run.why.copy(), run.passed_due
    status: Status
    if run.finished_at is not None:
        status = run.finished_status(run.finished_at)
    elif run.paused_since is not None:
        supplement_minutes += max(0, run.cal.working_minutes_between(run.paused_since, now))
        budget, used, due = run.resumed(clock_start(now, run.cal, run.cutoff))
        why.say(paused_since_line, run.cal, run.paused_since, run.supplements, now)
        status = "overdue" if late else "on_time"
    else:
        running = max(0, run.cal.working_minutes_between(run.mark, now))
        used, processing = used + running, processing + running
        agency_minutes[run.agency] += running
        if now > due and passed_due is None:
            late, passed_due = True, due
        status = "overdue" if late else "due_today" if now.date() == due.date() else "on_time"
        if late:
            why.say(overdue_line, run.cal, due)
    agencies = tuple(
        AgencyTime(name, minutes, run.agency_share.get(name)) for name, minutes in agency_minutes.items()
    )
    why.say(agency_lines, run.cal, agencies)
    reasons = late_reasons(
        run.cal, passed_due=passed_due, returns=run.supplements, returns_allowed=run.returns_allowed
    )
    return ClockReading(
        received_at=run.received_at,
        clock_started_at=run.started_at,
        due_at=due,
        original_due_at=run.original_due_at,
        minutes_used=used,
        minutes_left=max(0, budget - used),
        processing_minutes=processing,
        paused=run.paused_since is not None and run.finished_at is None,
        status=status,
        supplement_count=run.supplements,
        supplement_minutes=supplement_minutes,
        reappointments=run.reappointments,
        finished_at=run.finished_at,
        agencies=agencies,
        explained=why,
        running_since=None if run.finished_at is not None else run.running_since,
        paused_since=None if run.finished_at is not None else run.paused_since,
        late=bool(reasons),
        late_reasons=reasons,
    )
