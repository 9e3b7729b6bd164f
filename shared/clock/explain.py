"""Wording of the clock's explanation lines: durations, moments and skipped days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from shared.clock.calendar import WorkingCalendar
from shared.clock.facts import AgencyTime
from shared.clock.legal_time import LegalTime


def moment(calendar: WorkingCalendar, at: datetime) -> str:
    return calendar.to_local(at).strftime("%Y-%m-%d %H:%M")


def duration(calendar: WorkingCalendar, minutes: int) -> str:
    """'3 working days', '1 working day 2 h 30 min', '45 min of working time'."""
    days, rest = divmod(abs(minutes), calendar.minutes_per_day)
    hours, mins = divmod(rest, 60)
    small = " ".join(p for p in (f"{hours} h" * bool(hours), f"{mins} min" * bool(mins)) if p)
    if not days:
        return f"{small or '0 min'} of working time"
    whole = f"{days} working day{'' if days == 1 else 's'}"
    return f"{whole} {small}" if small else whole


def received_line(calendar: WorkingCalendar, at: datetime, legal: LegalTime) -> str:
    return f"received {moment(calendar, at)}; legal time {legal.describe()}"


def due_line(calendar: WorkingCalendar, due: datetime) -> str:
    return f"due {moment(calendar, due)} (hẹn trả kết quả)"


def requested_line(calendar: WorkingCalendar, number: int, at: datetime, used: int) -> str:
    return (
        f"supplement #{number} requested {moment(calendar, at)} (yêu cầu bổ sung): "
        f"clock stopped after {duration(calendar, used)} used"
    )


def returned_too_often_line(requests: int, allowed: int) -> str:
    return (
        f"supplement request #{requests}: late under Decision 766 "
        f"(more than {allowed} return(s) counts as late)"
    )


def paused_line(calendar: WorkingCalendar, paused: int, number: int) -> str:
    return f"paused {duration(calendar, paused)} for supplement #{number}"


def restarted_line(calendar: WorkingCalendar, legal: LegalTime, at: datetime, basis: str) -> str:
    return f"restarted: {legal.describe()} from the complete dossier {moment(calendar, at)} ({basis})"


def resumed_line(calendar: WorkingCalendar, used: int, left: int) -> str:
    return f"resumed: {duration(calendar, used)} already used are deducted; {duration(calendar, left)} left"


def transferred_line(calendar: WorkingCalendar, agency: str, at: datetime, share: int | None) -> str:
    note = "" if share is None else f"; its share: {duration(calendar, share)}"
    return f"transferred to {agency} {moment(calendar, at)}{note}"


def reappointed_line(calendar: WorkingCalendar, due: datetime, old: datetime, reason: str) -> str:
    return f"appointment re-set to {moment(calendar, due)} (was {moment(calendar, old)}): {reason}"


def reappointed_again_line(count: int, basis: str) -> str:
    return f"re-appointment #{count}: the appointment may be re-set at most once ({basis})"


def finished_paused_line(number: int) -> str:
    return f"finished during supplement #{number}"


def finished_line(
    calendar: WorkingCalendar, at: datetime, status_at: Callable[[datetime], str], due: datetime
) -> str:
    verdict = status_at(at).removeprefix("finished_").replace("_", " ")
    return f"finished {moment(calendar, at)}: {verdict} (due {moment(calendar, due)})"


def paused_since_line(calendar: WorkingCalendar, since: datetime, number: int, now: datetime) -> str:
    return (
        f"paused since {moment(calendar, since)} for supplement "
        f"#{number}; due date provisional (if complete at {moment(calendar, now)})"
    )


def overdue_line(calendar: WorkingCalendar, due: datetime) -> str:
    return f"overdue since {moment(calendar, due)} (quá hạn)"


def calendar_lines(
    calendar: WorkingCalendar, start: datetime, end: datetime, already: set[date]
) -> list[str]:
    """Holidays skipped and make-up days counted between two moments, one line per run of days.

    ``already`` holds days explained before, so a replay never repeats the same Tết twice.
    """
    lines: list[str] = []
    run: list[tuple[date, str]] = []
    day, last = calendar.to_local(start).date(), calendar.to_local(end).date()
    while day <= last + timedelta(days=1):  # one day past the end closes the last run
        reason = calendar.day_off_reason(day) if day <= last else None
        if reason is not None and day not in already:
            run.append((day, reason))
        else:
            lines.extend(_run_line(calendar, run))
            run = []
        extra = calendar.extra_working_day_reason(day) if day <= last else None
        if extra is not None and day not in already:
            lines.append(f"counted {day.isoformat()} as a working day: {extra}")
        if day <= last:
            already.add(day)
        day += timedelta(days=1)
    return lines


def _run_line(calendar: WorkingCalendar, run: list[tuple[date, str]]) -> list[str]:
    # A holiday run that only covers weekend days moved nothing: say nothing about it.
    if not run or not any(calendar.is_regular_working_weekday(d) for d, _ in run):
        return []
    names = list(dict.fromkeys(name for _, name in run))
    label = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"
    if all("Lunar New Year" in name for name in names):
        label = f"Tết: {label}"
    first, last = run[0][0].isoformat(), run[-1][0].isoformat()
    span = first if first == last else f"{first}..{last}"
    return [f"skipped {span} ({label})"]


def start_line(calendar: WorkingCalendar, cutoff: time | None, at: datetime, start: datetime) -> str:
    """Why the clock starts later than the receipt (or the complete dossier)."""
    local = calendar.to_local(at)
    if cutoff is not None and calendar.is_working_day(local.date()) and local.time() >= cutoff:
        return (
            f"after the {cutoff.strftime('%H:%M')} cut-off: counts from the next "
            f"working day, {moment(calendar, start)}"
        )
    return f"outside office hours: the clock starts {moment(calendar, start)}"


def agency_lines(calendar: WorkingCalendar, agencies: tuple[AgencyTime, ...]) -> list[str]:
    """Each agency with a share of the legal time: how much it used, within or over its share."""
    lines = []
    for a in agencies:
        if a.share_minutes is None:
            continue
        verdict = "over" if a.over_share else "within"
        lines.append(
            f"{a.agency} used {duration(calendar, a.minutes_used)}, {verdict} its share "
            f"of {duration(calendar, a.share_minutes)}"
        )
    return lines


def local_iso(calendar: WorkingCalendar, at: datetime) -> str:
    """ISO 8601 in the calendar's zone with its offset (``2026-03-02T09:00:00+07:00``): lists
    mixing zones as given (UTC from the server, +07:00 from a desk) read and sort wrongly."""
    return calendar.to_local(at).isoformat()


def hours_text(minutes: int) -> str:
    """Working minutes as hours for a sentence: 360 -> '6', 390 -> '6.5'."""
    return f"{minutes // 60}" if minutes % 60 == 0 else f"{minutes / 60:.1f}".rstrip("0").rstrip(".")


def legal_time_text(terms: dict[str, Any]) -> str:
    """The legal time as the slip states it (same-day procedures say so, with their cut-off).

    The receipt is printed by intake's form and by the web's page: one wording for both."""
    if terms.get("same_day"):
        cutoff = terms.get("same_day_cutoff")
        after = f"; nhận sau {cutoff} thì trả trong ngày làm việc tiếp theo" if cutoff else ""
        return f"giải quyết ngay trong ngày tiếp nhận{after}"
    if terms.get("legal_days"):
        return f"{terms['legal_days']} ngày làm việc"
    if terms.get("legal_hours"):
        return f"{terms['legal_hours']} giờ làm việc"
    return ""
