"""The case's clock told in plain Vietnamese for the officer's page and the printed forms: from
the case's facts and its steps, not a translation of the clock's technical lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.web.formats import form_time, parse_instant
from shared.clock import DEFAULT_CALENDAR

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


def step_name(event: str) -> str:
    return STEP_NAMES.get(event, event)


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
    if clock.get("original_due_at"):
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
            lines.append(f"Lúc {at}, hồ sơ được chuyển liên thông đến {d.get('to_department', '')}.")
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
