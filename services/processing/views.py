"""What processing shows of a case: its state, its clock, its history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.processing.domain import Case, step_meta

EVENT_NAMES = {
    "Opened": "case opened (mở hồ sơ giải quyết)",
    "OfficerAssigned": "officer assigned (phân công cán bộ)",
    "Transferred": "transferred (chuyển liên thông)",
    "SupplementRequested": "supplement requested (yêu cầu bổ sung)",
    "SupplementReceived": "supplement received (nhận bổ sung)",
    "ClosedForNoSupplement": "closed, not supplemented (dừng do không bổ sung)",
    "LeadershipReported": "reported to leadership (báo cáo lãnh đạo)",
    "LeadershipAcknowledged": "leadership acknowledged (lãnh đạo xác nhận)",
    "ApologyIssued": "apology and new appointment (xin lỗi, hẹn lại)",
    "MarkedOverdue": "overdue (quá hạn)",
    "Decided": "decided (có quyết định)",
    "ResultReady": "result ready (có kết quả)",
    "ResultReturned": "result returned (trả kết quả)",
    "ResultBackAtDesk": "result back at the desk (kết quả chuyển về bộ phận một cửa)",
    "Stopped": "stopped / withdrawn (dừng / rút hồ sơ)",
}


def clock_view(case: Case, now: datetime | None = None) -> dict[str, Any]:
    reading = case.read_clock(now or datetime.now(UTC))
    return {
        "received_at": reading.received_at.isoformat(),
        "clock_started_at": reading.clock_started_at.isoformat(),
        "due_at": reading.due_at.isoformat(),
        "original_due_at": reading.original_due_at.isoformat(),
        "working_minutes_used": reading.processing_minutes,
        "working_minutes_left": reading.minutes_left,
        "paused": reading.paused,
        "status": reading.status,
        "supplements": reading.supplement_count,
        "supplement_minutes": reading.supplement_minutes,
        "reappointments": reading.reappointments,
        "agencies": [
            {"agency": a.agency, "minutes_used": a.minutes_used, "share_minutes": a.share_minutes}
            for a in reading.agencies
        ],
        "explanation": reading.explanation,
    }


def case_view(case: Case) -> dict[str, Any]:
    return {
        "dossier_code": case.dossier_code,
        "dossier_id": str(case.dossier_id),
        "procedure_code": case.procedure_code,
        "competent_department": case.competent_department,
        "department_code": case.department_code,
        "state": case.state,
        "national_status": case.national_status(),
        "officer": case.officer,
        "approved": case.approved,
        "reasons": case.reasons,
        "postal_return": case.postal_return,
        "result_at_desk": case.result_at_desk,
        "supplements": case.supplements,
        "leadership_reports": case.leadership_reports,
        "pending_leadership": case.pending_leadership(),
        "reappointments": case.reappointments,
        "overdue_marked": case.overdue_marked,
        "allowed_actions": case.allowed_actions(),
        "clock": clock_view(case),
        "version": case.version,
    }


def event_name(e: Any) -> str:
    return type(e).__qualname__.split(".")[-1]


def history_view(events: list[Any]) -> list[dict[str, Any]]:
    """Every event with who, when it happened, when recorded, and the clock at that point."""
    rows: list[dict[str, Any]] = []
    case: Case | None = None
    for e in events:
        case = e.mutate(case)
        assert case is not None
        meta = step_meta(e)
        at: datetime = meta["occurred_at"]
        payload = {
            k: (v.isoformat() if isinstance(v, datetime) else v)
            for k, v in e.__dict__.items()
            if k
            not in {"originator_id", "originator_version", "timestamp", "meta", "actor", "originator_topic"}
        }
        rows.append(
            {
                "version": e.originator_version,
                "event": event_name(e),
                "what": EVENT_NAMES.get(event_name(e), event_name(e)),
                "actor": meta["actor"],
                "occurred_at": at.isoformat(),
                "recorded_at": e.timestamp.isoformat(),
                "backdated": (e.timestamp - at).total_seconds() > 300,
                "backdate_reason": meta.get("backdate_reason"),
                "state_after": case.state,
                "department_after": case.department_code,
                "clock": clock_view(case, at),
                "details": payload,
            }
        )
    return rows
