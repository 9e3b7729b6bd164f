"""The case's clock told in plain Vietnamese for the officer's page and the printed forms: from
the case's facts and its steps, not a translation of the clock's technical lines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.web.formats import day as day_text
from services.web.formats import form_time, parse_instant
from shared.clock import DEFAULT_CALENDAR
from shared.clock.calendar import WorkingCalendar
from shared.clock.calendars import CALENDARS
from shared.clock.public_holidays import vn_holiday_year
from shared.units import name_of

STEP_NAMES: dict[str, str] = {
    "Opened": "Tiếp nhận hồ sơ, chuyển cơ quan giải quyết",
    "OfficerAssigned": "Phân công cán bộ xử lý",
    "Transferred": "Chuyển liên thông",
    "SupplementRequested": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "SupplementReceived": "Nhận hồ sơ bổ sung",
    "ClosedForNoSupplement": "Dừng giải quyết do không bổ sung đúng hạn",
    "LeadershipReported": "Báo cáo lãnh đạo",
    "LeadershipAcknowledged": "Lãnh đạo cho ý kiến",
    "ApologyIssued": "Xin lỗi và hẹn lại ngày trả kết quả",
    "MarkedOverdue": "Quá hạn giải quyết",
    "Decided": "Có quyết định giải quyết",
    "ResultReady": "Có kết quả, chuyển bộ phận một cửa",
    "ResultReturned": "Trả kết quả cho công dân",
    "ResultBackAtDesk": "Kết quả chuyển về bộ phận một cửa",
    "Stopped": "Dừng giải quyết / rút hồ sơ",
}


def step_name(event: str, what: str = "") -> str:
    """The step in Vietnamese; for a step this page does not know, the Vietnamese part of the
    service's own words ("case opened (mở hồ sơ giải quyết)")."""
    if event in STEP_NAMES:
        return STEP_NAMES[event]
    if what.endswith(")") and "(" in what:
        inner = what[what.index("(") + 1 : -1].strip()
        return inner[:1].upper() + inner[1:]
    return what or event


def step_of(row: dict[str, Any]) -> str:
    """A history row's step in Vietnamese, the decision's verdict included."""
    if row.get("event") == "Decided" and "approved" in (row.get("details") or {}):
        return "Quyết định: chấp thuận" if row["details"]["approved"] else "Quyết định: từ chối giải quyết"
    return step_name(str(row.get("event", "")), str(row.get("what", "")))


def _calendar(name: str | None) -> WorkingCalendar:
    return CALENDARS.get(name or "", DEFAULT_CALENDAR)


def holiday_name_vi(day: date, reason: str) -> str:
    """A day off's name in Vietnamese: the holidays package's Vietnamese name, or the reason the
    province gave for a day it declared off."""
    return vn_holiday_year(day.year).days_off_vi.get(day) or reason


def calendar_lines(calendar_name: str | None, start: Any, end: Any) -> list[str]:
    """The public holidays between two moments that moved the date (working weekdays that were
    off), and the weekend days worked in their place, in Vietnamese, one line per run of days."""
    first, last = parse_instant(start), parse_instant(end)
    if first is None or last is None or last <= first:
        return []
    cal = _calendar(calendar_name)
    day, until = cal.to_local(first).date(), cal.to_local(last).date()
    if (until - day).days > 800:  # a typing error in a date, not a dossier
        return []
    lines: list[str] = []
    run: list[tuple[date, str]] = []

    def close() -> None:
        if not run:
            return
        names = list(dict.fromkeys(name for _, name in run))
        label = "; ".join(names) if len(names) <= 2 else f"{names[0]} … {names[-1]}"
        span = day_text(run[0][0]) if len(run) == 1 else f"{day_text(run[0][0])} – {day_text(run[-1][0])}"
        lines.append(f"Không tính ngày nghỉ lễ, Tết {span} ({label}).")
        run.clear()

    while day <= until:
        reason = cal.day_off_reason(day)
        if reason is not None and cal.is_regular_working_weekday(day):
            run.append((day, holiday_name_vi(day, reason)))
        else:
            close()
        if cal.extra_working_day_reason(day) is not None:
            lines.append(f"Ngày {day_text(day)} là ngày làm việc bù nên được tính vào thời hạn.")
        day += timedelta(days=1)
    close()
    return lines


def _late_start(received: Any, started: Any) -> str | None:
    """Why the count begins after the receipt: outside office hours, or after the day's cut-off."""
    at, start = parse_instant(received), parse_instant(started)
    if at is None or start is None or start <= at:
        return None
    return (
        f"Hồ sơ nhận ngoài giờ làm việc hoặc sau giờ tiếp nhận trong ngày nên thời hạn được tính từ"
        f" {form_time(start)}."
    )


def unit_name(code: str | None) -> str:
    unit = name_of(code)
    return unit.name_vi if unit else (code or "")


def legal_time(case: dict[str, Any]) -> str:
    if case.get("same_day"):
        return "giải quyết trong ngày"
    if case.get("legal_days"):
        return f"{case['legal_days']} ngày làm việc"
    if case.get("legal_hours"):
        return f"{case['legal_hours']} giờ làm việc"
    return ""


def working_left(minutes: int) -> str:
    """Working minutes as a person says them: "2 ngày 3 giờ làm việc", "45 phút làm việc"."""
    per_day = DEFAULT_CALENDAR.minutes_per_day
    days, rest = divmod(abs(minutes), per_day)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} ngày" * bool(days), f"{hours} giờ" * bool(hours), f"{mins} phút" * bool(mins)]
    return (" ".join(p for p in parts if p) or "0 phút") + " làm việc"


def time_left(due_at: str | datetime | None, now: datetime, paused: bool = False) -> tuple[str, bool]:
    """("còn 1 ngày 2 giờ làm việc", False) or ("quá hạn 3 giờ làm việc", True) for a queue row."""
    if paused:
        return "tạm dừng, chờ bổ sung", False
    due = parse_instant(due_at)
    if due is None:
        return "", False
    minutes = DEFAULT_CALENDAR.working_minutes_between(now, due)
    if minutes >= 0 and due >= now:
        return f"còn {working_left(minutes)}", False
    return f"quá hạn {working_left(minutes)}", True


def explanation(case: dict[str, Any], history: list[dict[str, Any]]) -> list[str]:
    """Why the appointment is what it is: the receipt, each step that moved the clock, and
    where the clock stands now."""
    clock = case["clock"]
    lines = [
        f"Hồ sơ được tiếp nhận lúc {form_time(clock['received_at'])}; thời hạn giải quyết theo quy định"
        f" là {legal_time(case)}, không tính thứ Bảy, Chủ nhật và ngày nghỉ lễ, Tết."
    ]
    late_start = _late_start(clock.get("received_at"), clock.get("clock_started_at"))
    if late_start:
        lines.append(late_start)
    lines.extend(
        calendar_lines(
            case.get("calendar"),
            clock.get("clock_started_at") or clock.get("received_at"),
            clock.get("due_at") or datetime.now(UTC),
        )
    )
    if clock.get("original_due_at") and clock.get("original_due_at") != clock.get("due_at"):
        lines.append(f"Ngày hẹn trả kết quả ghi trên giấy tiếp nhận: {form_time(clock['original_due_at'])}.")
    restart = case.get("supplement_policy") != "resume"
    for row in history:
        d, at = row.get("details", {}), form_time(row["occurred_at"])
        event = row["event"]
        if event == "SupplementRequested":
            lines.append(
                f"Lúc {at}, cơ quan yêu cầu bổ sung hồ sơ (lần {d.get('number', '')}): thời hạn giải quyết"
                " tạm dừng từ lúc này, thời gian chờ công dân bổ sung không tính vào thời hạn."
            )
        elif event == "SupplementReceived":
            how = (
                f"thời hạn được tính lại từ đầu ({legal_time(case)}) kể từ khi nhận đủ hồ sơ"
                if restart
                else "thời hạn tính tiếp phần thời gian còn lại"
            )
            lines.append(f"Lúc {at}, nhận đủ hồ sơ bổ sung: {how}.")
        elif event == "ApologyIssued":
            lines.append(
                f"Lúc {at}, cơ quan gửi thư xin lỗi và hẹn lại ngày trả kết quả:"
                f" {form_time(d.get('new_due_at'))}. Lý do: {d.get('reason', '')}."
            )
        elif event == "Transferred":
            lines.append(f"Lúc {at}, hồ sơ được chuyển liên thông đến {unit_name(d.get('to_department'))}.")
    if clock.get("paused"):
        pause = clock.get("pause") or {}
        left = working_left(int(pause.get("working_minutes_left") or clock.get("working_minutes_left") or 0))
        lines.append(f"Hiện đang tạm dừng chờ bổ sung; khi nhận đủ hồ sơ, thời hạn còn {left}.")
    elif case["state"] in ("in_processing",):
        minutes = int(clock.get("working_minutes_left") or 0)
        if clock.get("status") == "overdue":
            lines.append(f"Hồ sơ đã quá hạn hẹn trả ({form_time(clock['due_at'])}).")
        else:
            lines.append(
                f"Hạn trả kết quả hiện nay: {form_time(clock['due_at'])}, còn {working_left(minutes)}."
            )
    else:
        verdict = {"finished_early": "trước hạn", "finished_late": "quá hạn", "finished_on_time": "đúng hạn"}
        said = verdict.get(str(clock.get("status")))
        if said:
            lines.append(f"Hồ sơ đã giải quyết xong, {said}.")
    for reason in clock.get("late_reasons") or []:
        lines.append(f"Lưu ý: {reason['vi']}.")
    return lines


def citizen_explanation(view: dict[str, Any]) -> list[str]:
    """How the appointment on the tracking page was counted, for the citizen: the receipt, the
    legal time, the holidays skipped, each step that moved the date, and where it stands now."""
    legal = legal_time(view)
    lines = [
        f"Hồ sơ được tiếp nhận lúc {form_time(view.get('received_at'))}"
        + (f"; thời hạn giải quyết theo quy định là {legal}" if legal else "")
        + ", không tính thứ Bảy, Chủ nhật và ngày nghỉ lễ, Tết."
    ]
    late_start = _late_start(view.get("received_at"), view.get("clock_started_at"))
    if late_start:
        lines.append(late_start)
    lines.extend(
        calendar_lines(
            view.get("calendar"),
            view.get("clock_started_at") or view.get("received_at"),
            view.get("appointment") or datetime.now(UTC),
        )
    )
    original = view.get("original_appointment")
    if original and original != view.get("appointment"):
        lines.append(f"Ngày hẹn ghi trên giấy tiếp nhận: {form_time(original)}.")
    restart = view.get("supplement_policy") != "resume"
    for step in view.get("history") or []:
        d, at, event = step.get("details") or {}, form_time(step.get("occurred_at")), step.get("event")
        if event == "SupplementRequested":
            lines.append(
                f"Lúc {at}, cơ quan giải quyết đề nghị ông/bà bổ sung hồ sơ; thời hạn tạm dừng cho đến khi"
                " nhận đủ giấy tờ bổ sung."
            )
        elif event == "SupplementReceived":
            how = "được tính lại từ đầu" if restart else "tính tiếp phần thời gian còn lại"
            lines.append(f"Lúc {at}, đã nhận đủ hồ sơ bổ sung; thời hạn giải quyết {how}.")
        elif event == "ApologyIssued":
            lines.append(
                f"Lúc {at}, cơ quan giải quyết xin lỗi vì chưa trả kết quả đúng hẹn và hẹn lại:"
                f" {form_time(d.get('new_due_at'))}"
                + (f". Lý do: {d['reason']}." if d.get("reason") else ".")
            )
        elif event == "Transferred":
            lines.append(
                f"Lúc {at}, hồ sơ được chuyển đến {unit_name(d.get('to_department'))} để giải quyết tiếp."
            )
    if view.get("paused"):
        lines.append("Hiện hồ sơ đang tạm dừng, chờ ông/bà bổ sung giấy tờ.")
    elif view.get("appointment") and view.get("state") in ("in_processing", "decided"):
        lines.append(f"Ngày hẹn trả kết quả hiện nay: {form_time(view['appointment'])}.")
    return lines
