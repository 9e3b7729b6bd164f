"""The papers handed in at the desk: the contract field is optional (events recorded before the
checklist, v1 events), validated when present; and the clock told in Vietnamese, holidays by
their Vietnamese names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.web.explain_vi import calendar_lines, citizen_explanation, step_of
from shared.contracts import DossierReceived

AT = datetime(2026, 4, 20, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hà Nội


def _received(**extra: Any) -> dict[str, Any]:
    dossier_id = uuid.uuid4()
    return {
        "event_id": f"intake:{dossier_id}:1",
        "event_type": "intake.dossier_received.v1",
        "dossier_id": dossier_id,
        "dossier_code": "000.00.20.H99-260420-0001",
        "occurred_at": AT,
        "recorded_at": AT,
        "actor": {"user_id": "tiepnhan", "role": "front_desk", "agency": "TTPVHCC", "channel": 1},
        "procedure_code": "LLTP",
        "department_code": "STP",
        "receiving_point": "TTPVHCC",
        "channel": 1,
        "postal_return": False,
        "legal_days": 10,
        "received_at": AT,
        "due_at": AT,
        **extra,
    }


def test_documents_are_optional_in_the_contract_and_checked_when_present() -> None:
    assert DossierReceived(**_received()).documents is None  # recorded before the checklist
    paper = {"id": "to-khai", "name": "Tờ khai", "form": "original", "count": 1}
    assert DossierReceived(**_received(documents=[paper])).documents[0].name == "Tờ khai"  # type: ignore[index]
    for bad in ({**paper, "form": "photocopy"}, {**paper, "count": 0}, {**paper, "name": ""}):
        with pytest.raises(ValidationError):
            DossierReceived(**_received(documents=[bad]))


def test_holidays_are_named_in_vietnamese() -> None:
    lines = calendar_lines("standard", "2026-04-20T09:00:00+07:00", "2026-05-08T17:00:00+07:00")
    assert lines == [
        "Không tính ngày nghỉ lễ, Tết 27/04/2026 (Ngày Giỗ Tổ Hùng Vương (nghỉ bù)).",
        "Không tính ngày nghỉ lễ, Tết 30/04/2026 – 01/05/2026 (Ngày Chiến thắng; Ngày Quốc tế Lao động).",
    ]
    # a make-up Saturday counts, and says so
    made_up = calendar_lines("standard", "2025-04-21T09:00:00+07:00", "2025-05-06T09:00:00+07:00")
    assert "Ngày 26/04/2025 là ngày làm việc bù nên được tính vào thời hạn." in made_up
    assert calendar_lines("standard", "2026-06-01T09:00:00+07:00", "2026-06-12T09:00:00+07:00") == []


def test_the_citizen_reads_the_clock_and_the_steps_in_vietnamese() -> None:
    view = {
        "state": "in_processing",
        "received_at": "2026-04-24T18:00:00+07:00",  # a Friday evening
        "clock_started_at": "2026-04-28T07:00:00+07:00",  # after the Hùng Kings' day off
        "appointment": "2026-05-13T17:00:00+07:00",
        "original_appointment": "2026-05-12T17:00:00+07:00",
        "legal_days": 10,
        "calendar": "standard",
        "history": [
            {"event": "Opened", "what": "case opened (mở hồ sơ giải quyết)", "details": {}},
            {
                "event": "ApologyIssued",
                "occurred_at": "2026-05-11T10:00:00+07:00",
                "details": {"new_due_at": "2026-05-13T17:00:00+07:00", "reason": "cần xác minh"},
            },
        ],
    }
    lines = citizen_explanation(view)
    text = " ".join(lines)
    assert lines[0].startswith("Hồ sơ được tiếp nhận lúc 18 giờ 00 phút, ngày 24/04/2026")
    assert "thời hạn được tính từ 07 giờ 00 phút, ngày 28/04/2026" in text
    assert "Ngày Chiến thắng; Ngày Quốc tế Lao động" in text
    assert "hẹn lại: 17 giờ 00 phút, ngày 13/05/2026. Lý do: cần xác minh." in text
    assert "Ngày hẹn ghi trên giấy tiếp nhận: 17 giờ 00 phút, ngày 12/05/2026." in text
    assert not any(word in text for word in ("received", "skipped", "working day", "due "))
    assert step_of(view["history"][0]) == "Tiếp nhận hồ sơ, chuyển cơ quan giải quyết"
    assert step_of({"event": "Unheard", "what": "something new (việc mới)"}) == "Việc mới"
    assert step_of({"event": "Decided", "details": {"approved": False}}) == "Quyết định: từ chối giải quyết"
