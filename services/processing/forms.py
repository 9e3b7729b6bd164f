"""The documents the law names, rendered from the case's events as HTML.

Circular 03/2025/TT-VPCP Annex I gives the forms; these carry their content (who, what, when,
why, the new date) rather than their exact layout. The applicant's personal data stays in
intake, so these forms name the dossier by its code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

from services.processing.domain import Case, step_meta
from services.processing.values import ClockVerdict, StopKind
from shared.clock import DEFAULT_CALENDAR

# The library creates Case's event classes from its @event methods; mypy cannot see them.
Events: Any = Case


def _t(moment: datetime) -> str:
    return DEFAULT_CALENDAR.to_local(moment).strftime("%H:%M ngày %d/%m/%Y")


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:serif;max-width:46em;margin:2em auto}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #444;padding:.3em}</style>"
        "</head><body><p><b>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</b><br>Độc lập - Tự do - Hạnh phúc</p>"
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def _last(events: list[Any], cls: type) -> Any | None:
    found = [e for e in events if isinstance(e, cls)]
    return found[-1] if found else None


def supplement_request(events: list[Any]) -> str | None:
    e = _last(events, Events.SupplementRequested)
    if e is None:
        return None
    items = "".join(f"<li>{escape(i)}</li>" for i in e.missing_items)
    return _page(
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        f"<p>Hồ sơ: <b>{escape(_case(events).dossier_code)}</b> — lần yêu cầu thứ {e.number}</p>"
        f"<p>Lý do: {escape(e.reason)}</p><p>Đề nghị bổ sung đầy đủ, một lần, các giấy tờ sau:</p>"
        f"<ol>{items}</ol><p>Thời gian giải quyết tạm dừng từ {_t(step_meta(e).occurred_at)}.</p>"
        f"<p>Người lập: {escape(step_meta(e).actor['user_id'])}</p>",
    )


def apology(events: list[Any]) -> str | None:
    e = _last(events, Events.ApologyIssued)
    if e is None:
        return None
    return _page(
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        f"<p>Hồ sơ: <b>{escape(_case(events).dossier_code)}</b></p>"
        f"<p>Ngày hẹn trả kết quả trước đây: {_t(e.previous_due_at)}</p>"
        f"<p>Lý do chậm: {escape(e.reason)}</p>"
        f"<p>Cơ quan xin lỗi ông/bà và hẹn lại ngày trả kết quả: <b>{_t(e.new_due_at)}</b></p>"
        f"<p>Lập lúc {_t(step_meta(e).occurred_at)}"
        + ("" if e.notice_in_time else " (gửi muộn hơn 1 ngày làm việc trước hạn)")
        + "</p>",
    )


def stop_notice(events: list[Any]) -> str | None:
    e = _last(events, Events.Stopped)
    if e is None:
        return None
    what = "rút hồ sơ theo đề nghị của công dân" if e.kind == StopKind.WITHDRAWN else "dừng giải quyết hồ sơ"
    return _page(
        "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
        f"<p>Hồ sơ: <b>{escape(_case(events).dossier_code)}</b></p><p>Nội dung: {what}.</p>"
        f"<p>Lý do: {escape(e.reason)}</p><p>Thời điểm: {_t(step_meta(e).occurred_at)}</p>",
    )


def control_sheet(events: list[Any]) -> str:
    """Phiếu kiểm soát quá trình giải quyết hồ sơ: one row per hand-off, to the minute."""
    from services.processing.views import history_view  # local: views imports this package's domain

    rows = []
    for row in history_view(events):
        status = row["clock"]["status"]
        verdict = {
            ClockVerdict.FINISHED_EARLY: "sớm hạn",
            ClockVerdict.FINISHED_LATE: "trễ hạn",
            ClockVerdict.OVERDUE: "quá hạn",
        }.get(status, "đúng hạn")
        rows.append(
            "<tr>"
            f"<td>{escape(str(row['actor'].get('agency', '')))} / {escape(str(row['actor']['user_id']))}</td>"
            f"<td>{escape(row['department_after'])}</td>"
            f"<td>{_t(datetime.fromisoformat(row['occurred_at']))}</td>"
            f"<td>{verdict}</td>"
            f"<td>{escape(row['what'])}"
            + (f" — nhập lùi: {escape(row['backdate_reason'])}" if row["backdate_reason"] else "")
            + "</td></tr>"
        )
    return _page(
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        f"<p>Hồ sơ: <b>{escape(_case(events).dossier_code)}</b></p><table><tr><th>Bên giao</th>"
        "<th>Bên nhận</th><th>Thời gian</th><th>Kết quả</th><th>Ghi chú</th></tr>"
        + "".join(rows)
        + "</table>",
    )


def _case(events: list[Any]) -> Case:
    case: Case | None = None
    for e in events:
        case = e.mutate(case)
    assert case is not None
    return case


FORMS: dict[str, Callable[[list[Any]], str | None]] = {
    "supplement-request": supplement_request,
    "apology": apology,
    "stop-notice": stop_notice,
    "control-sheet": control_sheet,
}


def render_form(name: str, events: list[Any]) -> str | None:
    return FORMS[name](events)
