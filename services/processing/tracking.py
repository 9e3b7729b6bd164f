"""Tra cứu hồ sơ: what a citizen sees of their dossier with the secret on their receipt.

The status in plain words, the appointment, why the date moved, and the steps — without
officers' user names or anyone's personal data. An unknown code and a wrong secret answer
alike, so the page confirms nothing to someone counting through codes.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from services.processing.domain import Case
from services.processing.views import clock_view, history_view
from shared.host.errors import ApiError

STATUS_TEXT: dict[str, tuple[str, str]] = {
    "in_processing": ("Đang giải quyết", "Being processed"),
    "awaiting_supplement": ("Chờ công dân bổ sung hồ sơ", "Waiting for you to complete the dossier"),
    "decided": ("Đã có quyết định, đang chuẩn bị kết quả", "Decided; the result is being prepared"),
    "result_ready": ("Đã có kết quả, mời nhận kết quả", "The result is ready for you"),
    "returned": ("Đã trả kết quả", "The result was handed over"),
    "stopped": ("Đã dừng giải quyết / rút hồ sơ", "Processing stopped or the dossier was withdrawn"),
    "closed": ("Đã dừng do không bổ sung đúng hạn", "Closed: not completed in time"),
}
# What a step may show the citizen: the rest (officers, who collected a result) stays inside.
VISIBLE_DETAILS = ("missing_items", "reason", "new_due_at", "approved", "via", "to_department")


def tracking_not_found() -> ApiError:
    return ApiError(
        404,
        "tracking_not_found",
        "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này",
        "No dossier with this code and tracking secret",
    )


def secret_matches(case: Case, secret: str) -> bool:
    if not case.tracking_hash:
        return False
    given = hashlib.sha256(secret.encode()).hexdigest()
    return hmac.compare_digest(given, case.tracking_hash)


def tracking_view(case: Case, events: list[Any]) -> dict[str, Any]:
    clock = clock_view(case)
    vi, en = STATUS_TEXT.get(case.state, (case.state, case.state))
    return {
        "dossier_code": case.dossier_code,
        "procedure_code": case.procedure_code,
        "state": case.state,
        "national_status": case.national_status(),
        "status": {"vi": vi, "en": en},
        "received_at": clock["received_at"],
        "appointment": clock["due_at"],
        "original_appointment": clock["original_due_at"],
        "paused": clock["paused"],
        "clock_status": clock["status"],
        "explanation": clock["explanation"],
        "feedback": {
            "can_rate": case.state == "returned" and case.rating is None,
            "rating": case.rating,
            "complaints": case.complaints,
        },
        "history": [
            {
                "what": row["what"],
                "occurred_at": row["occurred_at"],
                "unit": row["department_after"],
                "details": {k: v for k, v in row["details"].items() if k in VISIBLE_DETAILS},
            }
            for row in history_view(events)
        ],
    }
