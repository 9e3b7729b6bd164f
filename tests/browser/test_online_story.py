"""The online filing story, in a real browser against the real system: a citizen signs in,
picks a procedure offered online, finds the applicant filled from the sign-in, uploads a PDF,
confirms the summary and gets the code and tracking secret; the tracking page says the filing
waits for the desk; the desk opens it from the "online, to check" queue, reads the PDF and asks
for completion; the citizen uploads the missing document online and the desk, finding it in its
queue again, receives it; the citizen's tracking page then shows it received, with its
appointment; the officer approves it and issues the signed electronic result, which the citizen
downloads from the tracking page, where the online steps are still listed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from shared.host.settings import Settings
from tests.browser.conftest import ARTIFACTS, serving_web
from tests.browser.test_web_story import _sign_in
from tests.identity import auth
from tests.system import eventually, receive_body, running_system

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


RESULT = PDF.replace(b"%%EOF", b"% Phieu ly lich tu phap so 1\n%%EOF")


@pytest.fixture
async def web_and_system(database_url: str, nats_url: str) -> Any:
    settings = Settings(nats_url=nats_url, database_url=database_url)
    async with (
        running_system(settings, ("intake", "processing")) as system,
        serving_web(system.apps) as url,
    ):
        yield url, system


async def test_citizen_files_online_and_the_desk_receives_it(
    web_and_system: Any, browser, shots, tmp_path: Path
) -> None:
    web, system = web_and_system
    pdf = tmp_path / "to-khai-lltp.pdf"
    pdf.write_bytes(PDF)

    # -- the citizen files ----------------------------------------------------------------------
    citizen = await _sign_in(browser, web, "congdan.ngoc")
    assert citizen.url.endswith("/online")
    await shots(citizen, "citizen-online-home")
    await citizen.get_by_role("link", name="Nộp hồ sơ: Cấp Phiếu lý lịch tư pháp").first.click()
    await citizen.wait_for_url("**/online/new/LLTP")
    # the applicant comes from the sign-in (the national log-in's claims)
    assert await citizen.input_value("#full_name") == "Trần Thị Bích Ngọc"
    assert await citizen.input_value("#citizen_id") == "001190012345"
    assert await citizen.input_value("#date_of_birth") == "15/03/1990"
    await citizen.set_input_files("#doc_form", str(pdf))
    await shots(citizen, "citizen-form")
    await citizen.click("#continue")
    await citizen.wait_for_selector("#summary")
    assert "to-khai-lltp.pdf" in await citizen.inner_text("#documents")
    assert "application/pdf" in await citizen.inner_text("#documents")
    await shots(citizen, "citizen-summary")
    await citizen.click("#confirm")
    await citizen.wait_for_selector("#tracking-secret")
    code = (await citizen.inner_text("#dossier-code")).strip()
    tracking_url = await citizen.get_attribute("#tracking-url", "href")
    assert tracking_url and tracking_url.startswith(f"{web}/track/{code}?s=")
    assert (await citizen.inner_text("#outcome")).strip() == "Đã nộp, chờ bộ phận một cửa kiểm tra"
    await shots(citizen, "citizen-filed")

    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="vi-VN")
    tracking = await phone.new_page()
    await tracking.goto(tracking_url)
    assert (await tracking.inner_text("#status")).strip() == "Đã nộp trực tuyến, chờ bộ phận một cửa kiểm tra"
    await shots(tracking, "tracking-registered")

    # -- the desk receives it from the online queue ------------------------------------------------
    desk = await _sign_in(browser, web, "tiepnhan")
    await desk.goto(f"{web}/desk/online")
    await shots(desk, "desk-online-queue")
    await desk.get_by_role("link", name=code).click()
    await desk.wait_for_selector("#documents a")
    async with desk.expect_popup() as popup:
        await desk.click("#documents a")
    opened = await popup.value
    await opened.wait_for_load_state()
    await opened.close()
    await shots(desk, "desk-online-filing")

    # -- the desk asks for completion; the citizen completes online; back in the desk's queue ------
    await desk.fill("#missing_items", "Bản sao CCCD có chứng thực")
    await desk.get_by_role("button", name="Yêu cầu bổ sung", exact=True).click()
    await desk.wait_for_url("**?done=incomplete")
    await citizen.goto(f"{web}/online/filings/{code}")
    assert (await citizen.inner_text("#outcome")).strip() == "Cần bổ sung"
    await citizen.set_input_files("#completion-file", str(pdf))
    await shots(citizen, "citizen-complete-online")
    await citizen.click("#complete-online button")
    await citizen.wait_for_selector("#outcome")
    assert (await citizen.inner_text("#outcome")).strip() == "Đã nộp, chờ bộ phận một cửa kiểm tra"
    await desk.goto(f"{web}/desk/online")
    await desk.get_by_role("link", name=code).click()
    await desk.wait_for_selector("#documents a")
    assert await desk.locator("#documents a").count() == 2
    await desk.get_by_role("button", name="Tiếp nhận", exact=True).click()
    await desk.wait_for_url("**?done=received")
    assert (await desk.inner_text("#outcome")).strip() == "Đã tiếp nhận"
    assert " phút, ngày " in await desk.inner_text("#appointment")
    await shots(desk, "desk-online-received")
    await desk.goto(f"{web}/desk/online")
    assert await desk.get_by_role("link", name=code).count() == 0

    # -- the citizen sees the step on the tracking page ---------------------------------------------
    deadline = time.monotonic() + 15
    await tracking.reload()
    while "Đang giải quyết" not in await tracking.inner_text("#status"):
        assert time.monotonic() < deadline, "processing never took the dossier over"
        await asyncio.sleep(0.3)
        await tracking.reload()
    assert " phút, ngày " in await tracking.inner_text("#appointment")
    assert "Trần Thị Bích Ngọc" not in await tracking.content()
    await shots(tracking, "tracking-received")
    assert any(ARTIFACTS.glob("*tracking-received.png"))

    # the online steps stay in the history once processing has the case
    steps = await tracking.inner_text(".steps")
    assert "Nộp hồ sơ trực tuyến" in steps and "Công dân bổ sung hồ sơ trực tuyến" in steps

    # -- the officer decides and issues the electronic result; the citizen downloads it -------------
    # (a dossier received at the counter now: the online one may count as received from the next
    # working period, before which nobody can act on it)
    made = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    assert made.status_code == 201, made.text
    counter, secret = made.json()["code"], made.json()["tracking_secret"]
    await eventually(
        lambda: system.processing.get(f"/dossiers/{counter}", headers=auth("thanhtra")),
        lambda r: r.status_code == 200,
    )
    result = tmp_path / "ket-qua.pdf"
    result.write_bytes(RESULT)
    officer = await _sign_in(browser, web, "canbo.stp")
    await officer.goto(f"{web}/officer/dossiers/{counter}")
    await officer.get_by_role("button", name="Quyết định: chấp thuận").click()
    await officer.wait_for_url("**?done=approve")
    await officer.fill("#result-name", "Phiếu lý lịch tư pháp số 1")
    await officer.set_input_files("#result-file", str(result))
    await shots(officer, "officer-issue-result")
    await officer.get_by_role("button", name="Phát hành kết quả điện tử").click()
    await officer.wait_for_url("**?done=issue_result")
    assert "Phiếu lý lịch tư pháp số 1" in await officer.inner_text("#electronic-result")
    await shots(officer, "officer-result-issued")
    await tracking.goto(f"{web}/track/{counter}?s={secret}")
    assert "Ed25519" in await tracking.inner_text("#electronic-result + dl")
    href = await tracking.get_attribute("#download-result", "href")
    assert href
    downloaded = await tracking.request.get(f"{web}{href}")
    assert downloaded.status == 200 and await downloaded.body() == RESULT
    await shots(tracking, "tracking-electronic-result")
