"""What processing shows of a case: its state, its clock, its history."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from services.processing.domain import Case, step_meta
from services.processing.values import ElectronicResult
from shared.clock.explain import hours_text, local_iso, moment
from shared.clock.facts import ClockReading

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
    "ResultIssued": "electronic result issued (phát hành kết quả điện tử)",
    "ResultReturned": "result returned (trả kết quả)",
    "ResultBackAtDesk": "result back at the desk (kết quả chuyển về bộ phận một cửa)",
    "Stopped": "stopped / withdrawn (dừng / rút hồ sơ)",
}


def clock_view(case: Case, now: datetime | None = None) -> dict[str, Any]:
    """The clock at ``now`` in local time. While paused there is no due date: the view says since
    when and how much working time is left, and the date only as a projection labelled "if the
    dossier is completed now" (a date computed from today is not the dossier's appointment)."""
    reading = case.read_clock(now or datetime.now(UTC))
    cal = case.working_calendar

    def local(at: datetime | None) -> str | None:
        return None if at is None else local_iso(cal, at)

    return {
        "received_at": local(reading.received_at),
        "clock_started_at": local(reading.clock_started_at),
        "due_at": None if reading.paused else local(reading.due_at),
        "original_due_at": local(reading.original_due_at),
        "working_minutes_used": reading.processing_minutes,
        "working_minutes_left": reading.minutes_left,
        "paused": reading.paused,
        "paused_since": local(reading.paused_since),
        "pause": _pause_view(case, reading) if reading.paused else None,
        "status": reading.status,
        "late": reading.late,
        "late_reasons": [{"code": r.code, "vi": r.vi, "en": r.en} for r in reading.late_reasons],
        "supplements": reading.supplement_count,
        "supplement_minutes": reading.supplement_minutes,
        "reappointments": reading.reappointments,
        "agencies": [
            {"agency": a.agency, "minutes_used": a.minutes_used, "share_minutes": a.share_minutes}
            for a in reading.agencies
        ],
        "explanation": reading.explanation,
    }


def _pause_view(case: Case, reading: ClockReading) -> dict[str, Any]:
    cal, since = case.working_calendar, reading.paused_since
    assert since is not None
    left = hours_text(reading.minutes_left)
    return {
        "since": local_iso(cal, since),
        "working_minutes_left": reading.minutes_left,
        "policy": case.supplement_policy,
        "summary": {
            "vi": f"Tạm dừng từ {moment(cal, since)}, còn {left} giờ làm việc",
            "en": f"paused since {moment(cal, since)}, {left} working hours left",
        },
        # Only a projection: the appointment if the citizen completes the dossier today.
        "projected_due_at_if_completed_today": local_iso(cal, reading.due_at),
        "projection_note": {
            "vi": "Ngày hẹn dự kiến nếu công dân bổ sung đầy đủ trong hôm nay, chưa phải ngày hẹn trả",
            "en": "projected date if the citizen completes the dossier today; not an appointment",
        },
    }


def result_view(case: Case) -> dict[str, Any] | None:
    """What the tracking page says of the electronic result: what it is and how it was signed."""
    issued: ElectronicResult | None = getattr(case, "electronic_result", None)  # none on older cases
    if issued is None:
        return None
    record = issued.document
    return {
        "name": record["name"],
        "media_type": record["media_type"],
        "size": record["size"],
        "sha256": record["sha256"],
        "signature": issued.signature,
    }


def case_view(case: Case) -> dict[str, Any]:
    return {
        "dossier_code": case.dossier_code,
        "dossier_id": str(case.dossier_id),
        "procedure_code": case.procedure_code,
        "legal_days": case.legal_days,
        "legal_hours": case.legal_hours,
        "same_day": case.same_day,
        "supplement_policy": case.supplement_policy,
        "calendar": case.calendar,
        "receiving_point": case.receiving_point,
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
        "leadership_reports": [asdict(report) for report in case.leadership_reports],
        "pending_leadership": case.pending_leadership(),
        "reappointments": case.reappointments,
        "overdue_marked": case.overdue_marked,
        "allowed_actions": case.allowed_actions(),
        "electronic_result": result_view(case),
        "clock": clock_view(case),
        "version": case.version,
    }


def event_name(e: Any) -> str:
    return type(e).__qualname__.split(".")[-1]


def history_view(events: list[Any]) -> list[dict[str, Any]]:
    """Every event with who, when it happened, when recorded, and the clock at that point; in
    business-time order (the instant, whatever zone it was given in), times in local time."""
    rows: list[dict[str, Any]] = []
    case: Case | None = None
    for e in events:
        case = e.mutate(case)
        assert case is not None
        meta = step_meta(e)
        at = meta.occurred_at
        cal = case.working_calendar
        payload = {
            k: (local_iso(cal, v) if isinstance(v, datetime) else v)
            for k, v in e.__dict__.items()
            if k
            not in {
                "originator_id",
                "originator_version",
                "timestamp",
                "meta",
                "actor",
                "originator_topic",
                "opening_clock",  # the clock column shows the reading; this is the translator's copy
            }
        }
        rows.append(
            {
                "version": e.originator_version,
                "event": event_name(e),
                "what": EVENT_NAMES.get(event_name(e), event_name(e)),
                "actor": meta.actor,
                "occurred_at": local_iso(cal, at),
                "recorded_at": local_iso(cal, e.timestamp),
                "backdated": (e.timestamp - at).total_seconds() > 300,
                "backdate_reason": meta.backdate_reason,
                "state_after": case.state,
                "department_after": case.department_code,
                "clock": clock_view(case, at),
                "details": payload,
                "_instant": at,
            }
        )
    rows.sort(key=lambda row: (row["_instant"], row["version"]))
    for row in rows:
        del row["_instant"]
    return rows
