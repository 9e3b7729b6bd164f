"""The first story of the web, in a real browser against the real system: the desk receives a
dossier with the keyboard only (the CCCD QR line pasted), prints the receipt whose QR code
decodes to the citizen's tracking URL; the department's officer sees only the buttons the state
allows and processes it; the citizen opens the QR's URL on a phone and sees the status; the
leader finds the unit in the index; operations watch the consumers' lag, redrive a dead letter
and follow a replay live. Every page passes the accessibility check (``check_accessible``)."""

from __future__ import annotations

import asyncio
import io
import re
import time
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import openpyxl
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from services.intake.catalogue import load_catalogue
from services.web.formats import LOCAL
from shared.clock import DEFAULT_CALENDAR
from shared.contracts import AnyEvent
from shared.eventlog import PoisonMessage
from shared.eventlog.topology import PROCESSING_FROM_INTAKE
from shared.host.settings import Settings
from tests.browser.conftest import ARTIFACTS, DEMO_PASSWORD, serving_web
from tests.system import System, eventually, receive_body, running_system

CCCD_LINE = "001190012345||Trần Thị Bích Ngọc|15031990|Nữ|Số 12 Phố Huế, phường Hai Bà Trưng, Hà Nội|01072021"


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as running:
        yield running


@pytest.fixture
async def web(system: System) -> Any:
    async with serving_web(system.apps) as url:
        yield url


async def _sign_in(browser, base_url: str, username: str, shots: Any = None, **context_options: Any):
    """Signs in as a person does: the web sends the browser to the provider's log-in page, the
    user types there (keyboard only) and comes back to the web, on their home page."""
    context = await browser.new_context(locale="vi-VN", **context_options)
    page = await context.new_page()
    await page.goto(f"{base_url}/login")
    assert "/protocol/openid-connect/auth" in page.url and not page.url.startswith(base_url)
    if shots is not None:
        await shots(page, "login")
    await _focused(page, "username")  # autofocus: the user types at once
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(DEMO_PASSWORD)
    async with page.expect_navigation(url=f"{base_url}/**"):
        await page.keyboard.press("Enter")
    assert page.url.startswith(base_url) and "/auth/callback" not in page.url
    return page


async def _focused(page, field: str) -> None:
    await page.wait_for_function(f"document.activeElement && document.activeElement.id === {field!r}")


async def _until_listed(page, code: str, timeout: float = 15.0) -> None:
    """The case opens in processing once its event arrived over the bus: reload until listed."""
    deadline = time.monotonic() + timeout
    while not await page.get_by_role("link", name=code).count():
        assert time.monotonic() < deadline, f"{code} never appeared in the queue"
        await asyncio.sleep(0.3)
        await page.reload()


async def _buttons(page) -> list[str]:
    return [text.strip() for text in await page.locator("#actions button").all_inner_texts()]


async def test_desk_receives_by_keyboard_officer_decides_citizen_follows(
    web: str, system: System, browser, shots
) -> None:
    # -- the desk: keyboard only ------------------------------------------------------------
    desk = await _sign_in(browser, web, "tiepnhan", shots)
    assert desk.url.endswith("/desk")
    await shots(desk, "desk-empty")
    await _focused(desk, "procedure")
    await desk.keyboard.type("LLTP")
    await desk.keyboard.press("Tab")
    await desk.keyboard.insert_text(CCCD_LINE)  # what a scanner types
    await desk.keyboard.press("Enter")
    await desk.wait_for_function("document.getElementById('full_name').value !== ''")
    assert await desk.input_value("#full_name") == "Trần Thị Bích Ngọc"
    assert await desk.input_value("#citizen_id") == "001190012345"
    assert await desk.input_value("#date_of_birth") == "15/03/1990"
    assert await desk.evaluate("document.activeElement.id") == "phone"
    await desk.keyboard.type("0912345678")
    # the procedure's documents list: with a required paper unticked, Enter would ask to complete
    await desk.wait_for_selector("#doc-to-khai")
    assert await desk.get_attribute("#receive-button", "value") == "incomplete"
    await desk.keyboard.press("Tab")  # e-mail
    for _ in range(2):  # the application form, the ID card: Tab to each, space ticks it
        await desk.keyboard.press("Tab")
        await desk.keyboard.press("Space")
    assert await desk.get_attribute("#receive-button", "value") == "receive"
    await shots(desk, "desk-filled")
    await desk.keyboard.press("Enter")  # Enter submits: receive
    await desk.wait_for_url("**/desk/receipts/**")
    await shots(desk, "receipt")

    # -- the receipt (form 01) --------------------------------------------------------------
    code = (await desk.inner_text("#dossier-code")).strip()
    assert re.fullmatch(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}", code), code
    receipt = await desk.inner_text("#receipt")
    for expected in (
        "Mẫu số 01",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "Trần Thị Bích Ngọc",
    ):
        assert expected in receipt
    documents = await desk.inner_text("#documents")
    assert "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp\tBản chính\t01" in documents, documents
    assert "Văn bản ủy quyền" not in documents  # not handed in, not listed
    for moment in ("#received-at", "#appointment"):
        assert " giờ " in await desk.inner_text(moment) and " phút, ngày " in await desk.inner_text(moment)
    qr_png = await desk.locator("#tracking-qr svg").screenshot()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png)))
    assert len(decoded) == 1
    tracking_url = decoded[0].text
    assert tracking_url.startswith(f"{web}/track/{code}?s=")
    assert tracking_url == (await desk.inner_text("#tracking-url")).strip()

    # -- the receipt as a PDF (WeasyPrint): its text and its QR code -------------------------
    pdf = await desk.request.get(f"{web}/forms/{code}/01/pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(await pdf.body())
    sheet = document[0]
    text = sheet.get_textpage().get_text_range()
    appointment = (await desk.inner_text("#appointment")).strip()
    for expected in (code, appointment, "Mẫu số 01", "Độc lập - Tự do - Hạnh phúc"):
        assert expected in text, expected
    image = sheet.render(scale=3).to_pil()
    (ARTIFACTS / "receipt-pdf-page1.png").parent.mkdir(exist_ok=True)
    image.save(ARTIFACTS / "receipt-pdf-page1.png")
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [tracking_url]

    # -- the department's officer: only the buttons the state allows -------------------------
    officer = await _sign_in(browser, web, "canbo.stp")
    assert officer.url.endswith("/officer/queues/active")
    await _until_listed(officer, code)
    await shots(officer, "officer-queue")
    await officer.get_by_role("link", name=code).click()
    assert await _buttons(officer) == [
        "Nhận xử lý (phân công cho tôi)",
        "Chuyển liên thông",
        "Yêu cầu bổ sung hồ sơ",
        "Xin lỗi và hẹn lại",
        "Quyết định: chấp thuận",
        "Quyết định: từ chối",
        "Rút / dừng hồ sơ",
    ]
    assert "Hạn trả kết quả hiện nay" in await officer.inner_text("#explanation")
    await shots(officer, "officer-dossier")
    # the apology with its new date: allowed once, then no longer offered (form 04 printed)
    later = DEFAULT_CALENDAR.next_working_moment(datetime.now(LOCAL) + timedelta(days=45))
    await officer.fill("#date-issue_apology", f"{later:%Y-%m-%dT%H:%M}")
    await officer.fill("#reason-issue_apology", "cần xác minh thêm tại cơ quan công an")
    await officer.get_by_role("button", name="Xin lỗi và hẹn lại").click()
    await officer.wait_for_url("**?done=issue_apology")
    assert "Xin lỗi và hẹn lại" not in await _buttons(officer)
    assert "xin lỗi và hẹn lại ngày trả kết quả" in await officer.inner_text("#explanation")
    await officer.goto(f"{web}/forms/{code}/04")
    assert f"{later:%H} giờ {later:%M} phút, ngày {later:%d/%m/%Y}" in await officer.inner_text("#form")
    await shots(officer, "form-04-apology")
    await officer.goto(f"{web}/forms/{code}/06")
    assert "Xin lỗi và hẹn lại ngày trả kết quả" in await officer.inner_text("#control")
    await shots(officer, "form-06-control-sheet")
    await officer.goto(f"{web}/officer/dossiers/{code}")
    await officer.get_by_role("button", name="Quyết định: chấp thuận").click()
    await officer.wait_for_url("**?done=approve")
    assert await officer.inner_text("#state") == "Đã có quyết định"
    assert await _buttons(officer) == ["Có kết quả"]
    await officer.get_by_role("button", name="Có kết quả").click()
    await officer.wait_for_url("**?done=make_result_ready")
    assert await officer.inner_text("#state") == "Đã có kết quả"
    assert "Có kết quả" not in await _buttons(officer)
    await shots(officer, "officer-result-ready")

    # -- the citizen, on a phone, opens the QR's URL --------------------------------------------
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="vi-VN")
    citizen = await phone.new_page()
    await citizen.goto(tracking_url)
    assert (await citizen.inner_text("#status")).strip() == "Đã có kết quả, mời nhận kết quả"
    assert " phút, ngày " in await citizen.inner_text("#appointment")
    assert "Trần Thị Bích Ngọc" not in await citizen.content()  # no personal data on the page
    await shots(citizen, "citizen-tracking")
    # nothing on the page is wider than the phone
    assert await citizen.evaluate("document.documentElement.scrollWidth") <= 390
    # the header's switch: the same page in English, once
    await citizen.click("#lang-en")
    await citizen.wait_for_url("**lang=en")
    assert await citizen.get_attribute("html", "lang") == "en"
    assert (await citizen.inner_text("h1")).startswith("Follow your dossier")
    assert (await citizen.inner_text("#status")).strip() != "Đã có kết quả, mời nhận kết quả"
    await shots(citizen, "citizen-tracking-en")

    # -- the department's leader: the dashboard, the dossier behind a number, the Excel file ----
    leader = await _sign_in(browser, web, "lanhdao.stp")
    assert leader.url.endswith("/leader")
    assert (await leader.inner_text("#scope")).strip() == "Sở Tư pháp"
    resolved = leader.locator('#progress tr[data-unit="STP"] td.resolved_total a')
    deadline = time.monotonic() + 15
    while not await resolved.count():  # the decision reaches scoring over the bus
        assert time.monotonic() < deadline, "the decided dossier never reached the dashboard"
        await asyncio.sleep(0.3)
        await leader.reload()
    assert await leader.locator("figure.chart svg[role=img]").count() == 3  # drawn on the server
    await shots(leader, "leader-dashboard")
    row = leader.locator('#progress tr[data-unit="STP"]')
    assert (await row.locator("th").inner_text()).strip() == "Sở Tư pháp"
    on_page = [int(text) for text in await row.locator("td[class]").all_inner_texts()]
    await resolved.click()
    await leader.wait_for_url("**/leader/dossiers?counter=resolved_total**")
    assert code in await leader.inner_text("#drill")
    await shots(leader, "leader-drill-down")
    await leader.get_by_role("link", name=code).click()  # the number's dossier, opened
    await leader.wait_for_url(f"**/officer/dossiers/{code}")
    await leader.go_back()
    await leader.go_back()
    async with leader.expect_download() as download_info:
        await leader.click("#export-progress")
    download = await download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = ARTIFACTS / "leader-progress.xlsx"
    await download.save_as(saved)
    sheet = openpyxl.load_workbook(saved).active
    cells = {str(c.value): c.row for r in sheet.iter_rows() for c in r if c.value is not None}
    assert "BÁO CÁO TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in cells
    assert "Trong đó: số kỳ trước chuyển qua" in cells and "SỞ TƯ PHÁP" in cells
    in_file = [sheet.cell(cells["Sở Tư pháp"], c).value for c in range(3, 3 + len(on_page))]
    assert in_file == on_page and in_file[0] >= 1  # the same numbers as the page

    # -- operations: lag, a dead letter redriven, a replay followed live ----------------------
    letter = await _dead_letter(system)
    ops = await _sign_in(browser, web, "vanhanh")
    assert ops.url.endswith("/ops/lag")
    assert await ops.evaluate("window.htmx && htmx.version") == "2.0.11"  # served by the web itself
    lag_rows = await ops.locator("#lag-table tbody tr").count()
    assert lag_rows >= 5 and await ops.locator('#lag-table tr[data-consumer="scoring"]').count() == 1
    await shots(ops, "ops-lag")

    await ops.get_by_role("link", name="Thư lỗi").click()
    row = ops.locator(f"#letter-processing-{letter}")
    assert "bug in the browser story" in await row.inner_text()
    await shots(ops, "ops-dead-letter")
    before = ops.url
    await row.get_by_role("button", name="Xử lý lại").click()  # htmx: the answer lands in the row
    await ops.locator(f"#redrive-processing-{letter}").get_by_text("Đã xử lý lại thành công").wait_for()
    assert ops.url == before
    await shots(ops, "ops-redriven")

    await ops.get_by_role("link", name="Dựng lại số liệu").click()
    polls: list[str] = []
    ops.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") == "true" else None)
    async with ops.expect_navigation():
        await ops.get_by_role("button", name="Bắt đầu dựng lại").click()
    first_state = await ops.get_attribute("#replay-progress", "data-state")
    await shots(ops, "ops-replay-started")
    await ops.wait_for_selector('#replay-progress[data-state="done"]', timeout=30_000)
    if first_state == "running":  # the page was not reloaded: htmx asked for the progress
        assert any("/ops/replay/" in url for url in polls), polls
    assert "hồ sơ" in await ops.inner_text("#replay-result")
    assert await ops.locator("#replay-phases progress").count() == 3
    await shots(ops, "ops-replay-done")


async def _dead_letter(system: System) -> int:
    """One dead letter, made as a real one is: processing's handler refuses a dossier (a bug),
    the consumer stores it with the reason; then the bug is "fixed" so the redrive succeeds."""
    opening = next(
        c for c in system.host("processing").consumers if c.spec.durable == PROCESSING_FROM_INTAKE.durable
    )
    fixed = opening.handler, opening.apply

    async def buggy(_: asyncpg.Connection, event: AnyEvent) -> None:
        raise PoisonMessage(f"bug in the browser story: cannot open {event.event_type}")

    opening.handler, opening.apply = buggy, None
    try:
        procedure = next(p for p in load_catalogue().procedures if 1 in {int(c) for c in p.channels})
        received = await system.intake.post("/dossiers", json=receive_body(procedure.code))
        assert received.status_code == 201, received.text
        letters = await eventually(
            lambda: system.scoring.get("/ops/dead-letters"), lambda r: len(r.json()) >= 1, timeout=15
        )
    finally:
        opening.handler, opening.apply = fixed
    [found] = letters.json()
    return int(found["id"])
