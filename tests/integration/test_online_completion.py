"""Online filing after the first verdict, against the real system: the registration (status 1)
is published and counted by scoring; the citizen completes online what the desk asked for and
the filing is back in the desk's queue; the tracking page keeps intake's steps once processing
has the case; and the desk's queue and the citizen's list survive a crash between an event and
their table (rebuilt from intake's log at start)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from shared.host.settings import Settings
from tests.identity import auth
from tests.integration.test_online_filing import CITIZEN, DESK, PDF, file_online, upload
from tests.integration.test_scoring import _cli, _settled
from tests.system import System, eventually, running_system


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    settings = Settings(nats_url=nats_url, database_url=database_url)
    async with running_system(settings) as s:
        yield s


async def _statuses(system: System) -> dict[int, int]:
    body = (await system.scoring.get("/national-status", headers=auth("thanhtra"))).json()
    return {s["code"]: s["dossiers"] for s in body["statuses"]}


async def test_registration_counted_completion_online_and_the_whole_history(
    system: System, database_url: str
) -> None:
    filing = await file_online(system)
    code, secret = filing["code"], filing["tracking_secret"]
    # the registration is on the bus: scoring counts the filing waiting for the desk
    await eventually(lambda: _statuses(system), lambda s: s == {1: 1})

    asked = await system.intake.post(
        f"/online/filings/{code}/completion-request",
        json={"missing_items": ["Bản sao CCCD có chứng thực"]},
        headers=DESK,
    )
    assert asked.status_code == 200, asked.text
    await eventually(lambda: _statuses(system), lambda s: s == {5: 1})
    assert (await system.intake.get("/online/queue", headers=DESK)).json() == []

    # the citizen uploads what was missing and files again; the desk sees it again
    added = (await upload(system.intake, PDF, "application/pdf", "Bản sao CCCD có chứng thực")).json()
    nothing = await system.intake.post(
        f"/online/filings/{code}/completion", json={"documents": []}, headers=CITIZEN
    )
    assert nothing.status_code == 422
    stranger = await system.intake.post(
        f"/online/filings/{code}/completion",
        json={"documents": [added["document_id"]]},
        headers=auth("congdan.minh"),
    )
    assert stranger.status_code == 404
    completed = await system.intake.post(
        f"/online/filings/{code}/completion", json={"documents": [added["document_id"]]}, headers=CITIZEN
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["outcome"] == "registered" and completed.json()["national_status"] == 1
    assert [d["document_id"] for d in completed.json()["online"]["documents"]][-1] == added["document_id"]
    again = await system.intake.post(
        f"/online/filings/{code}/completion", json={"documents": [added["document_id"]]}, headers=CITIZEN
    )
    assert again.status_code in (409, 422), again.text
    assert [f["code"] for f in (await system.intake.get("/online/queue", headers=DESK)).json()] == [code]
    await eventually(lambda: _statuses(system), lambda s: s == {1: 1})
    # the desk reads the added document as uploaded
    read = await system.intake.get(f"/online/filings/{code}/documents/{added['document_id']}", headers=DESK)
    assert read.status_code == 200 and read.content == PDF

    received = await system.intake.post(f"/online/filings/{code}/receive", json={}, headers=DESK)
    assert received.status_code == 200, received.text
    tracked = await eventually(
        lambda: system.processing.get(f"/track/{code}", headers={"X-Tracking-Secret": secret}),
        lambda r: r.status_code == 200,
    )
    steps = [step["what"] for step in tracked.json()["history"]]
    assert steps[:3] == [
        "Nộp hồ sơ trực tuyến / Filed online",
        "Bộ phận một cửa yêu cầu bổ sung / The desk asked you to complete it",
        "Công dân bổ sung hồ sơ trực tuyến / You completed the dossier online",
    ], steps
    assert len(steps) > 3  # then processing's own steps
    await eventually(lambda: _statuses(system), lambda s: s == {4: 1})

    await _settled(system)
    clean = await _cli("verify", "--database-url", database_url)
    assert clean.exit_code == 0 and "0 differences" in clean.output, clean.output


async def test_lists_are_rebuilt_from_the_log_after_a_crash(database_url: str, nats_url: str) -> None:
    settings = Settings(nats_url=nats_url, database_url=database_url)
    async with running_system(settings, ("intake",)) as system:
        first = await file_online(system)
        second = await file_online(system)
        asked = await system.intake.post(
            f"/online/filings/{second['code']}/completion-request",
            json={"missing_items": ["x"]},
            headers=DESK,
        )
        assert asked.status_code == 200
        await system.apps["intake"].state.online_index.catch_up()
    # A crash between the events' commit and the table's writes: the rows and the tail's
    # position are as they were before these filings.
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM intake.online_filings")
        await conn.execute("UPDATE intake.index_position SET position = 0")
    finally:
        await conn.close()
    async with running_system(settings, ("intake",)) as system:
        queue = (await system.intake.get("/online/queue", headers=DESK)).json()
        assert [f["code"] for f in queue] == [first["code"]]
        mine = (await system.intake.get("/online/filings", headers=CITIZEN)).json()
        assert {f["code"]: f["outcome"] for f in mine} == {
            first["code"]: "registered",
            second["code"]: "incomplete",
        }
