"""The messages, in Vietnamese: what happened to the dossier and what the citizen does next.

Only what the event carries goes in (the dossier's code, dates, the items missing, a reason);
the citizen's name and address never do, so a message read over someone's shoulder tells little.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from shared.contracts import AnyEvent, ApologyIssued, ResultReady, ShipmentFailed, SupplementRequested

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _when(at: datetime) -> str:
    return at.astimezone(LOCAL).strftime("%H:%M ngày %d/%m/%Y")


def notice_of(event: AnyEvent) -> tuple[str, dict[str, Any]] | None:
    """(kind, values) for the events a citizen is told of; None for the others."""
    if isinstance(event, SupplementRequested):
        return "supplement_requested", {"items": list(event.missing_items), "reason": event.reason}
    if isinstance(event, ApologyIssued):
        return "apology_issued", {"due_at": event.due_at.isoformat(), "reason": event.reason}
    if isinstance(event, ResultReady):
        return "result_ready", {"postal_return": event.postal_return}
    if isinstance(event, ShipmentFailed) and event.kind == "delivery":
        return "shipment_failed", {"reason": event.reason}
    return None


def render(kind: str, code: str, values: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of one message."""
    if kind == "supplement_requested":
        items = "\n".join(f"- {i}" for i in values["items"])
        return (
            f"Hồ sơ {code}: cần bổ sung giấy tờ",
            f"Hồ sơ {code} của ông/bà cần bổ sung:\n{items}\nLý do: {values['reason']}\n"
            "Thời hạn giải quyết tạm dừng cho đến khi nhận đủ hồ sơ bổ sung.",
        )
    if kind == "apology_issued":
        due = _when(datetime.fromisoformat(values["due_at"]))
        return (
            f"Hồ sơ {code}: thư xin lỗi và hẹn lại ngày trả kết quả",
            f"Cơ quan giải quyết xin lỗi ông/bà vì hồ sơ {code} không kịp trả đúng hẹn.\n"
            f"Lý do: {values['reason']}\nNgày hẹn trả kết quả mới: {due}.",
        )
    if kind == "result_ready":
        where = (
            "Kết quả sẽ được chuyển đến ông/bà qua dịch vụ bưu chính công ích."
            if values["postal_return"]
            else "Mời ông/bà đến bộ phận một cửa nơi đã nộp hồ sơ để nhận kết quả."
        )
        return f"Hồ sơ {code}: đã có kết quả", f"Hồ sơ {code} của ông/bà đã có kết quả.\n{where}"
    if kind == "shipment_failed":
        return (
            f"Hồ sơ {code}: chưa phát được kết quả qua bưu điện",
            f"Bưu điện chưa phát được kết quả hồ sơ {code} ({values['reason']}).\n"
            "Kết quả được chuyển về bộ phận một cửa: mời ông/bà đến nhận trực tiếp.",
        )
    raise ValueError(f"no template for {kind}")
