"""The dossier lifecycle over HTTP against the running services (real NATS + PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.processing.sweepers import sweep_overdue
from shared.host.settings import Settings
from tests.identity import AUDITOR, auth, officer
from tests.system import APPLICANT, System, eventually, receive_body, running_system


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


async def _received(system: System, procedure: str = "LLTP", **overrides: Any) -> str:
    response = await system.intake.post("/dossiers", json=receive_body(procedure, **overrides))
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    await eventually(
        lambda: system.processing.get(f"/dossiers/{code}", headers=auth(AUDITOR)),
        lambda r: r.status_code == 200,
    )
    return code


async def _post(
    system: System, code: str, action: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    return await system.processing.post(f"/dossiers/{code}/{action}", json=body, headers=headers)


async def test_a_dossier_through_every_step_with_its_history_explained(system: System) -> None:
    code = await _received(system)
    assert (await _post(system, code, "assign", {"officer": "cb.an"})).status_code == 200
    decided = await _post(system, code, "decision", {"approved": True})
    assert decided.json()["state"] == "decided" and decided.json()["national_status"] == 9
    assert (await _post(system, code, "result-ready", {})).status_code == 200
    returned = await _post(system, code, "result-returned", {"via": "desk", "received_by": "chính chủ"})
    assert returned.json()["state"] == "returned" and returned.json()["national_status"] == 10

    history = (await system.processing.get(f"/dossiers/{code}/history")).json()
    assert [h["event"] for h in history] == [
        "Opened",
        "OfficerAssigned",
        "Decided",
        "ResultReady",
        "ResultReturned",
    ]
    assert history[0]["clock"]["explanation"], "the clock explains the appointment from the start"
    assert all(h["recorded_at"] and h["occurred_at"] and h["actor"]["user_id"] for h in history)

    sheet = await system.processing.get(f"/dossiers/{code}/forms/control-sheet")
    assert sheet.status_code == 200 and sheet.text.count("<tr>") == 1 + len(history)
    receipt = await system.intake.get(f"/dossiers/{code}/forms/receipt")
    assert receipt.status_code == 200 and APPLICANT["full_name"] in receipt.text


async def test_counter_outcomes_incomplete_then_completed_and_refused(system: System) -> None:
    incomplete = await system.intake.post(
        "/dossiers/incomplete", json=receive_body("LLTP", missing_items=["Bản sao CCCD", "Tờ khai"])
    )
    assert incomplete.status_code == 201
    code = incomplete.json()["code"]
    assert incomplete.json()["national_status"] == 5 and incomplete.json()["due_at"] is None
    form = await system.intake.get(f"/dossiers/{code}/forms/completion-request")
    assert "Bản sao CCCD" in form.text and "Tờ khai" in form.text
    completed = await system.intake.post(f"/dossiers/{code}/completion", json={})
    assert completed.status_code == 200 and completed.json()["outcome"] == "received"
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    desk_history = (await system.intake.get(f"/dossiers/{code}/history")).json()
    assert [h["event"] for h in desk_history] == ["Registered", "Completed"]
    again = await system.intake.post(f"/dossiers/{code}/completion", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"

    refused = await system.intake.post(
        "/dossiers/refusals", json=receive_body("LLTP", reasons="Không thuộc thẩm quyền")
    )
    assert refused.status_code == 201 and refused.json()["national_status"] == 3
    assert (
        "Không thuộc thẩm quyền"
        in (await system.intake.get(f"/dossiers/{refused.json()['code']}/forms/refusal")).text
    )


async def test_second_return_is_refused_without_leadership_then_allowed(system: System) -> None:
    code = await _received(system)
    first = await _post(system, code, "supplement-requests", {"missing_items": ["A"], "reason": "thiếu A"})
    assert first.status_code == 200 and first.json()["clock"]["paused"] is True
    assert (await _post(system, code, "supplement-received", {})).status_code == 200
    second = await _post(system, code, "supplement-requests", {"missing_items": ["B"], "reason": "thiếu B"})
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "leadership_report_required" and error["message"]["vi"] and error["message"]["en"]

    assert (await _post(system, code, "leadership-reports", {"reason": "trả lần 2"})).status_code == 200
    queue = await eventually(
        lambda: system.processing.get("/queues/STP/awaiting-leadership"),
        lambda r: any(row["dossier_code"] == code for row in r.json()),
    )
    assert queue.status_code == 200
    not_leader = await _post(system, code, "leadership-acknowledgements", {})
    assert not_leader.status_code == 403 and not_leader.json()["error"]["code"] == "forbidden_role"
    other_leader = await system.processing.post(
        f"/dossiers/{code}/leadership-acknowledgements", json={}, headers=auth("lanhdao.ubndx")
    )
    assert other_leader.status_code == 404, "another department's leader does not see the dossier"
    ack = await system.processing.post(
        f"/dossiers/{code}/leadership-acknowledgements", json={"note": "đồng ý"}, headers=auth("lanhdao.stp")
    )
    assert ack.status_code == 200
    assert ack.json()["leadership_reports"][-1]["acknowledged_by"] == "lanhdao.stp"
    allowed = await _post(system, code, "supplement-requests", {"missing_items": ["B"], "reason": "thiếu B"})
    assert allowed.status_code == 200 and allowed.json()["supplements"] == 2


async def test_second_reappointment_and_late_withdrawal_are_refused(system: System) -> None:
    code = await _received(system)
    case = (await system.processing.get(f"/dossiers/{code}")).json()
    new_due = datetime.fromisoformat(case["clock"]["due_at"]) + timedelta(days=7)
    first = await _post(
        system, code, "apologies", {"reason": "cần xác minh", "new_due_at": new_due.isoformat()}
    )
    assert first.status_code == 200, first.text
    assert datetime.fromisoformat(first.json()["clock"]["due_at"]) == new_due
    assert "xin lỗi" in (await system.processing.get(f"/dossiers/{code}/forms/apology")).text.lower()
    second = await _post(
        system,
        code,
        "apologies",
        {"reason": "lại chậm", "new_due_at": (new_due + timedelta(days=7)).isoformat()},
    )
    assert second.status_code == 409 and second.json()["error"]["code"] == "reappointment_limit"

    await _post(system, code, "decision", {"approved": False, "reasons": "Không đủ điều kiện"})
    late = await _post(system, code, "withdrawal", {"reason": "xin rút"})
    assert late.status_code == 409
    assert late.json()["error"]["state"] == "decided"
    assert late.json()["error"]["allowed_actions"] == ["make_result_ready", "issue_result"]


async def test_withdrawal_issues_a_stop_notice(system: System) -> None:
    code = await _received(system)
    stopped = await _post(system, code, "withdrawal", {"kind": "withdrawn", "reason": "Công dân xin rút"})
    assert stopped.status_code == 200 and stopped.json()["national_status"] == 7
    notice = await system.processing.get(f"/dossiers/{code}/forms/stop-notice")
    assert notice.status_code == 200 and "Công dân xin rút" in notice.text


async def test_back_dated_entries_need_a_reason_and_show_both_times(system: System) -> None:
    past = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    no_reason = await system.intake.post("/dossiers", json=receive_body("LLTP", occurred_at=past))
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "backdate_reason_required"
    too_old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    old = await system.intake.post(
        "/dossiers", json=receive_body("LLTP", occurred_at=too_old, backdate_reason="mất điện")
    )
    assert old.status_code == 422 and old.json()["error"]["code"] == "backdate_too_old"

    code = await _received(system, occurred_at=past, backdate_reason="Hệ thống gián đoạn, nhập lại từ sổ")
    history = (await system.processing.get(f"/dossiers/{code}/history")).json()
    assert datetime.fromisoformat(history[0]["occurred_at"]) == datetime.fromisoformat(past)
    assert history[0]["backdated"] is True, "received 30 h before it was recorded"
    decided = await _post(
        system,
        code,
        "decision",
        {"approved": True, "occurred_at": past, "backdate_reason": "Hệ thống gián đoạn"},
    )
    assert decided.status_code == 200
    rows = (await system.processing.get(f"/dossiers/{code}/history")).json()
    assert rows[-1]["backdated"] is True and rows[-1]["backdate_reason"] == "Hệ thống gián đoạn"


async def test_overdue_dossier_is_recorded_once_and_queued(system: System) -> None:
    # A same-day procedure received three days ago (during an outage) is overdue now.
    past = (datetime.now(UTC) - timedelta(hours=70)).isoformat()
    procedure = next(
        p["code"]
        for p in (await system.intake.get("/procedures")).json()
        if p["same_day"] and 1 in p["channels"]
    )
    code = await _received(system, procedure, occurred_at=past, backdate_reason="mất kết nối")
    department = (await system.processing.get(f"/dossiers/{code}", headers=auth(AUDITOR))).json()[
        "department_code"
    ]
    theirs = officer(department)
    elsewhere = await system.processing.get(f"/dossiers/{code}")
    assert elsewhere.status_code == 404, "an officer of another department does not see it"
    await eventually(
        lambda: system.processing.get(f"/queues/{department}/overdue", headers=theirs),
        lambda r: any(row["dossier_code"] == code for row in r.json()),
    )
    processing = system.host("processing")
    app = system.apps["processing"].state.application
    assert await sweep_overdue(processing.pool, app) >= 1
    await eventually(
        lambda: system.processing.get(f"/dossiers/{code}", headers=theirs),
        lambda r: r.json()["overdue_marked"] is True,
    )
    await eventually(
        lambda: processing.pool.fetchval(
            "SELECT overdue_marked FROM processing.case_queue WHERE dossier_code = $1", code
        ),
        lambda marked: marked is True,
    )
    assert await sweep_overdue(processing.pool, app) == 0
    history = (await system.processing.get(f"/dossiers/{code}/history", headers=theirs)).json()
    assert [h["event"] for h in history].count("MarkedOverdue") == 1


async def test_unknown_dossier_and_bad_bodies_get_explained_4xx(system: System) -> None:
    missing = await system.processing.get("/dossiers/NOPE-1/history")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    bad = await system.processing.post("/dossiers/NOPE-1/decision", json={"approved": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    unknown = await system.intake.post("/dossiers", json=receive_body("NO-SUCH-PROC"))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_procedure"


async def test_inter_agency_transfer_carries_each_agencys_share(system: System) -> None:
    code = await _received(system, "DD-BIENDONG")  # land transfer: SNNMT 7 days, tax 3 days
    assert (await _post(system, code, "transfer", {"to_department": "THUE"})).status_code == 404
    moved = await _post(system, code, "transfer", {"to_department": "THUE"}, officer("SNNMT"))
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert body["department_code"] == "THUE" and body["competent_department"] == "SNNMT"
    shares = {a["agency"]: a["share_minutes"] for a in body["clock"]["agencies"]}
    assert shares["THUE"] == 3 * 480
    same = await _post(system, code, "transfer", {"to_department": "THUE"}, officer("THUE"))
    assert same.status_code == 422 and same.json()["error"]["code"] == "same_department"
    queue = await eventually(
        lambda: system.processing.get("/queues/THUE/active", headers=officer("THUE")),
        lambda r: any(row["dossier_code"] == code for row in r.json()),
    )
    assert queue.status_code == 200
