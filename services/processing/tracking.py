"""Tra cứu hồ sơ: what a citizen sees of their dossier with the secret on their receipt.

The status in plain words, the appointment, why the date moved, and the steps — without
officers' user names or anyone's personal data. An unknown code and a wrong secret answer
alike, so the page confirms nothing to someone counting through codes.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from services.processing.domain import Case
from services.processing.values import CaseState
from services.processing.views import clock_view, history_view, result_view
from shared.clock.explain import local_iso
from shared.host.errors import ApiError

STATUS_TEXT: dict[CaseState, tuple[str, str]] = {
    CaseState.IN_PROCESSING: ("Đang giải quyết", "Being processed"),
    CaseState.AWAITING_SUPPLEMENT: ("Chờ công dân bổ sung hồ sơ", "Waiting for you to complete the dossier"),
    CaseState.DECIDED: ("Đã có quyết định, đang chuẩn bị kết quả", "Decided; the result is being prepared"),
    CaseState.RESULT_READY: ("Đã có kết quả, mời nhận kết quả", "The result is ready for you"),
    CaseState.RETURNED: ("Đã trả kết quả", "The result was handed over"),
    CaseState.STOPPED: ("Đã dừng giải quyết / rút hồ sơ", "Processing stopped or the dossier was withdrawn"),
    CaseState.CLOSED: ("Đã dừng do không bổ sung đúng hạn", "Closed: not completed in time"),
}
# The steps of an online filing at intake, before the desk received it (they came with the receipt).
INTAKE_STEPS: dict[str, str] = {
    "filed_online": "Nộp hồ sơ trực tuyến / Filed online",
    "completion_requested": "Bộ phận một cửa yêu cầu bổ sung / The desk asked you to complete it",
    "completed_online": "Công dân bổ sung hồ sơ trực tuyến / You completed the dossier online",
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
    vi, en = STATUS_TEXT[case.state]
    return {
        "dossier_code": case.dossier_code,
        "procedure_code": case.procedure_code,
        "state": case.state,
        "national_status": case.national_status(),
        "status": {"vi": vi, "en": en},
        "received_at": clock["received_at"],
        "clock_started_at": clock["clock_started_at"],
        "appointment": clock["due_at"],
        "original_appointment": clock["original_due_at"],
        "paused": clock["paused"],
        "clock_status": clock["status"],
        "explanation": clock["explanation"],
        # the facts a page needs to tell the clock in its own words (the web's, in Vietnamese)
        "legal_days": case.legal_days,
        "legal_hours": case.legal_hours,
        "same_day": case.same_day,
        "supplement_policy": case.supplement_policy,
        "calendar": case.calendar,
        "feedback": {
            "can_rate": case.state == CaseState.RETURNED and case.rating is None,
            "rating": case.rating,
            "complaints": case.complaints,
        },
        "history": [*_intake_steps(case), *_case_steps(events)],
        "electronic_result": result_view(case),
    }


def _intake_steps(case: Case) -> list[dict[str, Any]]:
    return [
        {
            "event": str(step["step"]),
            "what": INTAKE_STEPS.get(step["step"], step["step"]),
            "occurred_at": local_iso(case.working_calendar, datetime.fromisoformat(str(step["occurred_at"]))),
            "unit": case.receiving_point,
            "details": {},
        }
        for step in getattr(case, "intake_steps", [])  # cases opened before steps travelled have none
    ]


def _case_steps(events: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "event": row["event"],
            "what": row["what"],
            "occurred_at": row["occurred_at"],
            "unit": row["department_after"],
            "details": {k: v for k, v in row["details"].items() if k in VISIBLE_DETAILS},
        }
        for row in history_view(events)
    ]
