"""The desk's three outcomes from its page and the printed forms they lead to, against the real
system: the four services on real PostgreSQL and NATS, the web over ASGI, tokens from the
development issuer through the web's own log-in.

Forms 02 (request to complete), 03 (refusal), 05 (stop notice) and the register (form 07) are
read as pages and as PDFs (their text through pypdfium2); intake's ``GET /applicants/masked`` and
``GET /registers/{desk}`` are asked directly, by the right and the wrong units. One system serves
the whole module: each test files its own dossiers.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx
import nats
import pypdfium2 as pdfium
import pytest
import pytest_asyncio
from fastapi import FastAPI
from nats.js.errors import NotFoundError

from services.web.formats import LOCAL
from shared.eventlog.topology import STREAM
from shared.host.settings import Settings
from tests.browser.conftest import ARTIFACTS, DEMO_PASSWORD, web_app
from tests.identity import AUDITOR, auth, leader, officer
from tests.system import System, eventually, receive_body, running_system
from tests.web_login import sign_in

pytestmark = pytest.mark.asyncio(loop_scope="module")

MOMENT = re.compile(r"\d{2} giờ \d{2} phút, ngày \d{2}/\d{2}/\d{4}")
APPLICANT_FORM = {
    "full_name": "Lê Văn Bình",
    "citizen_id": "079088001234",
    "date_of_birth": "02/09/1988",
    "address": "Số 5 đường Lê Lợi, phường Bến Thành, TP. Hồ Chí Minh",
    "phone": "0987654321",
    "email": "",
}


@dataclass
class World:
    system: System
    web: FastAPI

    @contextlib.asynccontextmanager
    async def signed_in(self, user: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=self.web)
        async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
            signed = await sign_in(client, user, DEMO_PASSWORD)
            assert signed.status_code == 303, signed.text
            yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(servers: Any) -> AsyncIterator[World]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(servers.database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    nc = await nats.connect(servers.nats_url)
    with contextlib.suppress(NotFoundError):
        await nc.jetstream().delete_stream(STREAM)
    await nc.close()
    database_url = urlunparse(urlparse(servers.database_url)._replace(path=f"/{name}"))
    settings = Settings(nats_url=servers.nats_url, database_url=database_url)
    try:
        async with running_system(settings) as system:
            web = web_app("http://web.test", system.apps)
            async with web.router.lifespan_context(web):
                yield World(system, web)
    finally:
        admin = await asyncpg.connect(servers.database_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _csrf(client: httpx.AsyncClient) -> str:
    page = await client.get("/desk")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def _desk_post(
    client: httpx.AsyncClient, outcome: str, docs: list[str], **extra: str
) -> httpx.Response:
    fields: dict[str, Any] = {
        "csrf": await _csrf(client),
        "idempotency_key": uuid.uuid4().hex,
        "procedure": "LLTP",
        "checklist_for": "LLTP",
        "channel": "1",
        "outcome": outcome,
        **APPLICANT_FORM,
        "doc": docs,
        **extra,
    }
    return await client.post("/desk/receive", data=fields)


def _pdf_text(data: bytes, picture: str) -> str:
    """The PDF's text; its first page is also written as a picture under tests/artifacts/."""
    document = pdfium.PdfDocument(data)
    ARTIFACTS.mkdir(exist_ok=True)
    document[0].render(scale=1.5).to_pil().save(ARTIFACTS / f"desk-forms-{picture}.png")
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


async def _pdf(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    name = "form-07" if "/register" in path else f"form-{path.split('/')[3]}"
    return _pdf_text(response.content, name)


def _flat(text: str) -> str:
    """PDF text with its line breaks as spaces (a table cell wraps where the layout says)."""
    return re.sub(r"\s+", " ", text)


async def test_missing_paper_cannot_be_received_the_desk_asks_to_complete_with_form_02(world: World) -> None:
    async with world.signed_in("tiepnhan") as desk:
        page = await desk.get("/desk/checklist", params={"procedure": "LLTP"})
        assert 'id="doc-to-khai"' in page.text and "Luật Lý lịch tư pháp 2009 Điều 45" in page.text

        refused = await _desk_post(desk, "receive", ["to-khai"])
        assert refused.status_code == 422
        assert "documents_missing" in refused.text
        # the page now offers the request to complete, naming what is missing
        assert 'value="incomplete"' in refused.text
        assert "Bản chụp thẻ căn cước / căn cước công dân hoặc hộ chiếu" in refused.text

        asked = await _desk_post(desk, "incomplete", ["to-khai"], other_missing="Ảnh chân dung 4x6")
        assert asked.status_code == 303, asked.text
        form_02 = asked.headers["location"]
        code = form_02.split("/")[2]
        assert form_02 == f"/forms/{code}/02"

        page = await desk.get(form_02)
        assert page.status_code == 200
        for expected in ("Mẫu số 02", "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", code, "Lê Văn Bình"):
            assert expected in page.text, expected
        missing = page.text[page.text.index('id="missing"') :]
        assert "Bản chụp thẻ căn cước / căn cước công dân hoặc hộ chiếu" in missing
        assert "Ảnh chân dung 4x6" in missing
        assert "Tờ khai yêu cầu cấp Phiếu" not in missing  # handed in, not asked for

        text = _flat(await _pdf(desk, f"{form_02}/pdf"))
        for expected in ("Mẫu số 02", code, "Ảnh chân dung 4x6", "Bản chụp thẻ căn cước"):
            assert expected in text, expected

        nothing = await _desk_post(desk, "incomplete", ["to-khai", "giay-to-tuy-than"])
        assert nothing.status_code == 422 and "nothing_missing" in nothing.text

    record = (await world.system.intake.get(f"/dossiers/{code}", params={"purpose": "kiểm thử"})).json()
    assert record["outcome"] == "incomplete"
    assert record["documents"] == [
        {"id": "to-khai", "name": "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", "form": "original", "count": 1}
    ]


async def test_the_desk_refuses_with_reasons_and_prints_form_03(world: World) -> None:
    async with world.signed_in("tiepnhan") as desk:
        bare = await _desk_post(desk, "refuse", ["to-khai", "giay-to-tuy-than"])
        assert bare.status_code == 422 and "refusal_reasons_required" in bare.text
        reasons = "Người yêu cầu không thuộc đối tượng được cấp Phiếu lý lịch tư pháp tại tỉnh"
        refused = await _desk_post(desk, "refuse", ["to-khai"], refusal_reasons=reasons)
        assert refused.status_code == 303, refused.text
        code = refused.headers["location"].split("/")[2]
        assert refused.headers["location"] == f"/forms/{code}/03"
        page = await desk.get(f"/forms/{code}/03")
        for expected in ("Mẫu số 03", "PHIẾU TỪ CHỐI TIẾP NHẬN, GIẢI QUYẾT HỒ SƠ", code, reasons):
            assert expected in page.text, expected
        text = _flat(await _pdf(desk, f"/forms/{code}/03/pdf"))
        assert code in text and "Mẫu số 03" in text and reasons in text
        # a refused dossier has no receipt
        assert (await desk.get(f"/forms/{code}/01")).status_code == 409


async def test_the_receipt_lists_the_papers_and_intake_checks_the_list(world: World) -> None:
    async with world.signed_in("tiepnhan") as desk:
        made = await _desk_post(desk, "receive", ["to-khai", "giay-to-tuy-than", "van-ban-uy-quyen"])
        assert made.status_code == 303, made.text
        code = made.headers["location"].rsplit("/", 1)[1]
        text = _flat(await _pdf(desk, f"/forms/{code}/01/pdf"))
        for expected in (
            "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp",
            "Bản chính",
            "Bản chụp",
            "Văn bản ủy quyền",
        ):
            assert expected in text, expected

    intake = world.system.intake
    body = receive_body("LLTP", documents=[{"id": "to-khai"}])
    missing = await intake.post("/dossiers", json=body)
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "documents_missing"
    assert missing.json()["error"]["missing"] == ["giay-to-tuy-than"]
    unknown = await intake.post("/dossiers", json=receive_body("LLTP", documents=[{"id": "so-do"}]))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_document"
    twice = await intake.post(
        "/dossiers", json=receive_body("LLTP", documents=[{"id": "to-khai"}, {"id": "to-khai"}])
    )
    assert twice.status_code == 422 and twice.json()["error"]["code"] == "document_repeated"
    # a certified copy where the list asks for a copy: the desk records what it was given
    given = await intake.post(
        "/dossiers",
        json=receive_body(
            "LLTP",
            documents=[{"id": "to-khai"}, {"id": "giay-to-tuy-than", "form": "certified_copy", "count": 2}],
        ),
    )
    assert given.status_code == 201, given.text
    assert given.json()["documents"][1] == {
        "id": "giay-to-tuy-than",
        "name": "Bản chụp thẻ căn cước / căn cước công dân hoặc hộ chiếu của người được cấp Phiếu",
        "form": "certified_copy",
        "count": 2,
    }
    # a filing without the list (older clients) is received as before
    assert (await intake.post("/dossiers", json=receive_body("LLTP"))).status_code == 201


async def test_form_05_the_stop_notice_after_a_withdrawal(world: World) -> None:
    made = await world.system.intake.post(
        "/dossiers", json=receive_body("LLTP", documents=[{"id": "to-khai"}, {"id": "giay-to-tuy-than"}])
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    processing = world.system.processing  # the Department of Justice's officer
    await eventually(lambda: processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    reason = "Công dân có đơn xin rút hồ sơ ngày hôm nay"
    stopped = await processing.post(
        f"/dossiers/{code}/withdrawal", json={"kind": "withdrawn", "reason": reason}
    )
    assert stopped.status_code == 200, stopped.text
    async with world.signed_in("canbo.stp") as stp:
        page = await stp.get(f"/forms/{code}/05")
        assert page.status_code == 200, page.text
        for expected in (
            "Mẫu số 05",
            "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
            "Công dân đề nghị rút hồ sơ",
            reason,
            "SỞ TƯ PHÁP",
        ):
            assert expected in page.text, expected
        assert MOMENT.search(page.text)
        text = _flat(await _pdf(stp, f"/forms/{code}/05/pdf"))
        assert code in text and "Mẫu số 05" in text and reason in text
    async with world.signed_in("canbo.sxd") as other:  # another department: as if there were none
        assert (await other.get(f"/forms/{code}/05")).status_code == 404


async def test_form_07_the_register_lists_the_day_with_vietnamese_moments(world: World) -> None:
    made = await world.system.intake.post(
        "/dossiers", json=receive_body("LLTP", documents=[{"id": "to-khai"}, {"id": "giay-to-tuy-than"}])
    )
    code = made.json()["code"]
    today = datetime.now(LOCAL)
    async with world.signed_in("tiepnhan") as desk:
        page = await desk.get("/forms/register", params={"start": f"{today:%d/%m/%Y}"})
        assert page.status_code == 200
        row = page.text[page.text.index(code) :].split("</tr>", 1)[0]
        assert "Cấp Phiếu lý lịch tư pháp" in row and "Trần Thị Bích Ngọc" in row and "Sở Tư pháp" in row
        assert len(MOMENT.findall(row)) == 2, row  # received and appointment, the forms' wording
        assert "Mẫu số 07" in page.text and "SỔ THEO DÕI HỒ SƠ" in page.text
        text = _flat(await _pdf(desk, f"/forms/register?start={today:%d/%m/%Y}&pdf=true"))
        assert "SỔ THEO DÕI HỒ SƠ" in text and code.split("-")[-1] in text
        assert MOMENT.search(text)
        bad = await desk.get("/forms/register", params={"start": "31/02/2026"})
        assert bad.status_code == 422 and "date_invalid" in bad.text
    async with world.signed_in("tiepnhan.dongthanh") as other_desk:
        refused = await other_desk.get("/forms/register")
        # the web asks for the user's own desk: the other desk's register has none of ours
        assert refused.status_code == 200 and code not in refused.text


async def test_intake_registers_by_unit(world: World) -> None:
    made = await world.system.intake.post(
        "/dossiers", json=receive_body("LLTP", documents=[{"id": "to-khai"}, {"id": "giay-to-tuy-than"}])
    )
    code = made.json()["code"]
    intake = world.system.intake
    today = datetime.now(LOCAL).date().isoformat()
    period = {"from": today, "to": today}

    own = await intake.get("/registers/TTPVHCC", params=period)
    assert own.status_code == 200
    row = next(r for r in own.json() if r["code"] == code)
    assert row["applicant"]["full_name"] == "Trần Thị Bích Ngọc" and row["outcome"] == "received"
    assert row["recorded_at"] and row["due_at"]

    unknown = await intake.get("/registers/NO-SUCH-DESK", params=period)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_desk"
    other_desk = await intake.get("/registers/TTPVHCC", params=period, headers=auth("tiepnhan.dongthanh"))
    assert other_desk.status_code == 403 and other_desk.json()["error"]["code"] == "not_your_desk"
    assert other_desk.json()["error"]["message"]["vi"]
    not_a_reader = await intake.get("/registers/TTPVHCC", params=period, headers=auth("canbo.stp"))
    assert not_a_reader.status_code == 403  # officers have no register (policy table)
    anonymous = await intake.get("/registers/TTPVHCC", params=period, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    too_long = await intake.get("/registers/TTPVHCC", params={"from": "2026-01-01", "to": "2026-03-01"})
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "period_invalid"

    # a department's leader reads the centre's register for the dossiers of the department only
    stp = await intake.get("/registers/TTPVHCC", params=period, headers=leader("STP"))
    sxd = await intake.get("/registers/TTPVHCC", params=period, headers=leader("SXD"))
    assert code in {r["code"] for r in stp.json()}
    assert code not in {r["code"] for r in sxd.json()}
    audited = await intake.get("/registers/TTPVHCC", params=period, headers=auth(AUDITOR))
    assert code in {r["code"] for r in audited.json()}


async def test_intake_masked_names_only_for_the_dossiers_readers(world: World) -> None:
    made = await world.system.intake.post(
        "/dossiers", json=receive_body("LLTP", documents=[{"id": "to-khai"}, {"id": "giay-to-tuy-than"}])
    )
    code = made.json()["code"]
    intake = world.system.intake
    query = [("code", code), ("code", "000.00.20.H99-200101-9999")]

    for headers in (officer("STP"), auth("tiepnhan"), auth(AUDITOR)):
        seen = await intake.get("/applicants/masked", params=query, headers=headers)
        assert seen.status_code == 200
        assert seen.json() == {code: "Trần T. B. N."}  # the unknown code is left out
    other = await intake.get("/applicants/masked", params=query, headers=officer("SXD"))
    assert other.status_code == 200 and other.json() == {}
    ops = await intake.get("/applicants/masked", params=query, headers=auth("vanhanh"))
    assert ops.status_code == 403
    too_many = await intake.get("/applicants/masked", params=[("code", f"X-{n}") for n in range(201)])
    assert too_many.status_code == 422
    assert too_many.json()["error"]["message"]["en"]
