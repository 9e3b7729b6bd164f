"""The lateness verdict and its reasons: computed here once, read by every service.

Two things make a dossier late. Its clock ran past the appointment (Decree 118/2025; the
appointment is the date on the receipt slip, re-set at most once). Or, for the index of service
to citizens and businesses, it was returned to the citizen for supplements more often than the
rule set allows: Decision 766/QĐ-TTg (2022) counts a dossier with more than one supplement
request as late, whatever its dates.
"""

from __future__ import annotations

from datetime import datetime

from shared.clock.calendar import WorkingCalendar
from shared.clock.explain import moment
from shared.clock.facts import LateReason

_TIMES_VI = {2: "2 lần"}
_TIMES_EN = {2: "twice", 3: "three times"}


def past_appointment(calendar: WorkingCalendar, due_at: datetime) -> LateReason:
    when = moment(calendar, due_at)
    return LateReason(
        "past_appointment",
        f"trễ hạn: quá ngày hẹn trả kết quả {when}",
        f"late: past the appointment {when}",
    )


def returned_too_often(returns: int) -> LateReason:
    times_en = _TIMES_EN.get(returns, f"{returns} times")
    return LateReason(
        "returned_more_than_allowed",
        f"trễ hạn theo Quyết định 766: trả hồ sơ yêu cầu bổ sung {_TIMES_VI.get(returns, f'{returns} lần')}",
        f"late under Decision 766: returned {times_en} for supplements",
    )


def late_reasons(
    calendar: WorkingCalendar, *, passed_due: datetime | None, returns: int, returns_allowed: int
) -> tuple[LateReason, ...]:
    """The reasons in the order a reader checks them: the date first, then the returns."""
    reasons: list[LateReason] = []
    if passed_due is not None:
        reasons.append(past_appointment(calendar, passed_due))
    if returns > returns_allowed:
        reasons.append(returned_too_often(returns))
    return tuple(reasons)
