"""Issue 13 over HTTP against the running services (real NATS + PostgreSQL): what a desk officer,
a department officer and a leader see."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.clock import DEFAULT_CALENDAR
from shared.eventlog.topology import PROCESSING_FROM_INTAKE
from shared.host.business_time import business_time
from shared.host.settings import Settings
from tests.identity import leader, officer
from tests.system import System, eventually, receive_body, running_system

LEADER = leader("STP")
OUTAGE = "mất điện tại bộ phận một cửa (outage)"


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as s:
        yield s


def _ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


async def _received(system: System, procedure: str = "LLTP", **overrides: Any) -> str:
    response = await system.intake.post("/dossiers", json=receive_body(procedure, **overrides))
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    await eventually(lambda: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    return code


async def _post(
    system: System, code: str, action: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    response = await system.processing.post(f"/dossiers/{code}/{action}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _backdated(hours: float) -> dict[str, Any]:
    return {"occurred_at": _ago(hours), "backdate_reason": OUTAGE}


# 1 ----------------------------------------------------------------------------------------------


async def test_a_same_day_dossier_is_due_at_the_end_of_the_receipt_day_and_the_slip_says_so(
    system: System,
) -> None:
    # The latest working-day 08:00 within the back-dating limit: due at 17:00 that day, not 08:00
    # the next working day (what 8 working hours gave).
    now = DEFAULT_CALENDAR.to_local(datetime.now(UTC))
    day = next(
        d
        for d in (now.date() - timedelta(days=n) for n in range(4))
        if DEFAULT_CALENDAR.is_working_day(d) and now - _at(d, 8) > timedelta(minutes=10)
    )
    response = await system.intake.post(
        "/dossiers",
        json=receive_body("CT-BANSAO", occurred_at=_at(day, 8).isoformat(), backdate_reason=OUTAGE),
    )
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["due_at"]) == _at(day, 17)
    assert response.json()["terms"]["same_day"] is True
    slip = await system.intake.get(f"/dossiers/{response.json()['code']}/forms/receipt")
    assert "giải quyết ngay trong ngày tiếp nhận" in slip.text and "15:00" in slip.text


def _at(day: Any, hour: int) -> datetime:
    return datetime(
        day.year, day.month, day.day, hour, tzinfo=DEFAULT_CALENDAR.to_local(datetime.now(UTC)).tzinfo
    )


# 2 and 3 ----------------------------------------------------------------------------------------


@pytest.fixture
def two_weeks_of_backdating(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries may be dated back two weeks in these tests (72 h by default), so that the first
    return lies days of working time before the second, whatever day and hour the tests run."""
    monkeypatch.setitem(business_time.__kwdefaults__, "limit", timedelta(days=14))


async def _returned_twice(system: System) -> str:
    """Received 10 days ago (entered after an outage), returned at once, back 2 h ago; the second
    return goes out an hour after the complete dossier came back."""
    code = await _received(system, **_backdated(240))
    await _post(system, code, "assign", {"officer": "cb.an", **_backdated(239.9)})
    await _post(
        system,
        code,
        "supplement-requests",
        {"missing_items": ["CCCD"], "reason": "thiếu", **_backdated(239.8)},
    )
    await _post(system, code, "supplement-received", _backdated(2))
    await _post(system, code, "leadership-reports", {"reason": "còn thiếu tờ khai", **_backdated(1.5)})
    await _post(system, code, "leadership-acknowledgements", _backdated(1.4), headers=LEADER)
    second = await system.processing.post(
        f"/dossiers/{code}/supplement-requests",
        json={"missing_items": ["Tờ khai"], "reason": "thiếu lần 2", **_backdated(1)},
    )
    assert second.status_code == 200, second.text
    assert second.json()["supplements"] == 2
    await _post(system, code, "supplement-received", _backdated(0.5))
    return code


@pytest.mark.usefixtures("two_weeks_of_backdating")
async def test_a_second_return_is_possible_after_the_first_supplement(system: System) -> None:
    code = await _returned_twice(system)
    case = (await system.processing.get(f"/dossiers/{code}")).json()
    assert case["state"] == "in_processing" and case["supplements"] == 2


@pytest.mark.usefixtures("two_weeks_of_backdating")
async def test_a_dossier_returned_twice_is_late_everywhere_with_the_reason(system: System) -> None:
    code = await _returned_twice(system)
    decided = await _post(system, code, "decision", {"approved": True})
    clock = decided["clock"]
    assert clock["status"] == "finished_late" and clock["late"] is True
    reason = "late under Decision 766: returned twice for supplements"
    assert [r["en"] for r in clock["late_reasons"]] == [reason]
    assert "Quyết định 766" in clock["late_reasons"][0]["vi"]

    history = await eventually(
        lambda: system.scoring.get(f"/dossiers/{code}/history"),
        lambda r: (
            r.status_code == 200 and any(h["event_type"] == "processing.dossier_decided.v1" for h in r.json())
        ),
    )
    payload = next(h for h in history.json() if h["event_type"] == "processing.dossier_decided.v1")["payload"]
    assert '"on_time": false' in payload and reason in payload

    params = {"period": "year", "unit": "STP", "counter": "resolved_late"}
    drill = await eventually(
        lambda: system.scoring.get("/figures/dossiers", params=params),
        lambda r: any(d["dossier_code"] == code for d in r.json()["dossiers"]),
    )
    row = next(d for d in drill.json()["dossiers"] if d["dossier_code"] == code)
    assert row["timeliness"] == "late" and row["late_reason"] == reason
    early = await system.scoring.get("/figures/dossiers", params={**params, "counter": "resolved_early"})
    assert code not in [d["dossier_code"] for d in early.json()["dossiers"]]


# 4 ----------------------------------------------------------------------------------------------


async def test_the_receipts_backdate_reason_shows_in_processings_history(system: System) -> None:
    code = await _received(system, **_backdated(3))
    history = (await system.processing.get(f"/dossiers/{code}/history")).json()
    assert history[0]["event"] == "Opened" and history[0]["backdate_reason"] == OUTAGE
    opened = await eventually(
        lambda: system.scoring.get(f"/dossiers/{code}/history"),
        lambda r: r.status_code == 200 and len(r.json()) >= 2,
    )
    case_opened = next(h for h in opened.json() if h["event_type"] == "processing.case_opened.v1")
    assert OUTAGE in case_opened["payload"]


# 5 ----------------------------------------------------------------------------------------------


async def test_a_paused_dossier_shows_paused_since_and_hours_left_not_a_due_date(system: System) -> None:
    code = await _received(system, "LLTP")
    case = await _post(system, code, "supplement-requests", {"missing_items": ["CCCD"], "reason": "thiếu"})
    clock = case["clock"]
    assert clock["paused"] is True and clock["due_at"] is None
    assert clock["pause"]["since"].endswith("+07:00")
    assert "working hours left" in clock["pause"]["summary"]["en"]
    assert clock["pause"]["summary"]["vi"].startswith("Tạm dừng từ")
    assert clock["pause"]["projected_due_at_if_completed_today"]
    assert "not an appointment" in clock["pause"]["projection_note"]["en"]


# 6 ----------------------------------------------------------------------------------------------


async def test_intakes_record_says_it_is_the_desks_and_points_to_the_status(system: System) -> None:
    code = await _received(system)
    await _post(system, code, "assign", {"officer": "cb.an"})
    await _post(system, code, "decision", {"approved": True})
    await _post(system, code, "result-ready", {})
    await _post(system, code, "result-returned", {"via": "desk", "received_by": "chính chủ"})
    desk = (await system.intake.get(f"/dossiers/{code}")).json()
    assert desk["record"] == "desk" and "not the dossier's current status" in desk["note"]["en"]
    pointer = desk["current_status_at"][0]
    assert pointer["service"] == "processing" and pointer["path"] == f"/dossiers/{code}"
    now = (await system.processing.get(pointer["path"])).json()
    assert now["state"] == "returned" and now["national_status"] == 10


# 7 ----------------------------------------------------------------------------------------------


async def test_history_is_in_instant_order_and_local_time(system: System) -> None:
    code = await _received(system, **_backdated(3))
    assign_at_utc = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    await _post(
        system,
        code,
        "assign",
        {"officer": "cb.an", "occurred_at": assign_at_utc.isoformat(), "backdate_reason": OUTAGE},
    )
    rows = (await system.processing.get(f"/dossiers/{code}/history")).json()
    assert [r["event"] for r in rows] == ["Opened", "OfficerAssigned"]
    assert all(r["occurred_at"].endswith("+07:00") and r["recorded_at"].endswith("+07:00") for r in rows)
    assert rows[1]["occurred_at"] == DEFAULT_CALENDAR.to_local(assign_at_utc).isoformat()
    desk = (await system.intake.get(f"/dossiers/{code}/history")).json()
    assert desk[0]["occurred_at"].endswith("+07:00")
    across = await eventually(
        lambda: system.scoring.get(f"/dossiers/{code}/history"),
        lambda r: r.status_code == 200 and len(r.json()) >= 3,
    )
    instants = [datetime.fromisoformat(h["occurred_at"]) for h in across.json()]
    assert instants == sorted(instants) and all(h["occurred_at"].endswith("+07:00") for h in across.json())


# 8 ----------------------------------------------------------------------------------------------


async def test_a_decision_without_assignment_records_the_takeover(system: System) -> None:
    code = await _received(system)
    decided = await _post(system, code, "decision", {"approved": True})
    rows = (await system.processing.get(f"/dossiers/{code}/history")).json()
    decision_maker = rows[2]["actor"]["user_id"]
    assert decided["officer"] == decision_maker
    assert [r["event"] for r in rows] == ["Opened", "OfficerAssigned", "Decided"]
    assert rows[1]["details"]["taken_over"] is True and rows[1]["details"]["officer"] == decision_maker


# 9 ----------------------------------------------------------------------------------------------


async def test_acting_before_the_case_opens_gets_a_404_that_says_so(system: System) -> None:
    # Hold processing's intake consumer, as a busy moment would: the case cannot open yet.
    host = system.host("processing")
    index = next(i for i, c in enumerate(host.consumers) if c.spec.durable == PROCESSING_FROM_INTAKE.durable)
    pull = host._pulls[index]
    pull.cancel()
    await asyncio.gather(pull, return_exceptions=True)

    response = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    code = response.json()["code"]
    early = await eventually(
        lambda: system.processing.post(f"/dossiers/{code}/assign", json={"officer": "cb.an"}),
        lambda r: r.json()["error"]["code"] == "case_not_yet_opened",
    )
    assert early.status_code == 404 and early.headers["Retry-After"] == "2"
    assert early.json()["error"]["message"]["vi"] and early.json()["error"]["message"]["en"]
    got = await system.processing.get(f"/dossiers/{code}")
    assert got.status_code == 404 and got.json()["error"]["code"] == "case_not_yet_opened"
    # another department's officer learns nothing of the dossier, not even that it exists
    stranger = await system.processing.get(f"/dossiers/{code}", headers=officer("UBNDX"))
    assert stranger.status_code == 404 and stranger.json()["error"]["code"] == "not_found"

    incomplete = await system.intake.post(
        "/dossiers/incomplete", json=receive_body("LLTP", missing_items=["Tờ khai"])
    )
    waiting = incomplete.json()["code"]
    not_received = await eventually(
        lambda: system.processing.get(f"/dossiers/{waiting}"),
        lambda r: r.json()["error"]["code"] == "dossier_not_received",
    )
    assert not_received.status_code == 404 and "Retry-After" not in not_received.headers
    unknown = await system.processing.get("/dossiers/000.00.01.H99-990101-9999")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
