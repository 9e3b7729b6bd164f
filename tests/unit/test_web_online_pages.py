"""The online filing pages over HTTP with intake replaced by a stub: the citizen lands on the
online page, the form is prefilled from the sign-in, and every bad input is a 4xx page with its
code — a missing document, a bad CCCD, an unknown desk, a file intake refuses, a stale draft."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.web_login import sign_in, web_with_identity

PASSWORD = "mat-khau-thu"
PROCEDURES = [
    {"code": "LLTP", "name_vi": "Cấp Phiếu lý lịch tư pháp", "department": "STP", "online_level": "full"},
    {"code": "CT-CHUKY", "name_vi": "Chứng thực chữ ký", "department": "UBNDX", "online_level": "none"},
]
PDF = b"%PDF-1.4\n%%EOF\n"


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": {"vi": f"vi {code}", "en": code}}})


def _intake(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/procedures":
        return httpx.Response(200, json=PROCEDURES)
    if path == "/online/filings" and request.method == "GET":
        return httpx.Response(200, json=[])
    if path == "/online/documents":
        if not request.content.startswith(b"%PDF-"):
            return _error(415, "document_type_not_allowed")
        doc = {
            "document_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
            "name": request.url.params["name"],
            "media_type": "application/pdf",
        }
        return httpx.Response(201, json={**doc, "size": len(request.content), "sha256": "a" * 64})
    if path == "/online/queue":
        return httpx.Response(200, json=[])
    return _error(404, "not_found")


@pytest.fixture
async def web() -> Any:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "intake": httpx.MockTransport(_intake),
    }
    app = web_with_identity(transports, PASSWORD)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        yield client


async def _citizen(web: httpx.AsyncClient) -> str:
    signed = await sign_in(web, "congdan.ngoc", PASSWORD)
    assert signed.status_code == 303 and signed.headers["location"] == "/online"
    page = await web.get("/online/new/LLTP")
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


FIELDS = {
    "full_name": "Trần Thị Bích Ngọc",
    "citizen_id": "001190012345",
    "date_of_birth": "15/03/1990",
    "address": "Số 12 Phố Huế",
    "receiving_point": "TTPVHCC",
}


async def test_the_citizen_sees_what_is_offered_online_and_a_prefilled_form(web: httpx.AsyncClient) -> None:
    await _citizen(web)
    home = await web.get("/online")
    assert "LLTP" in home.text and "CT-CHUKY" not in home.text
    form = await web.get("/online/new/LLTP")
    assert 'value="001190012345"' in form.text and 'value="15/03/1990"' in form.text
    offline = await web.get("/online/new/CT-CHUKY")
    assert offline.status_code == 404 and "procedure_not_online" in offline.text


@pytest.mark.parametrize(
    ("fields", "files", "status", "code"),
    [
        ({}, {}, 422, "document_missing"),
        ({"citizen_id": "12345"}, {"doc_form": ("a.pdf", PDF, "application/pdf")}, 422, "citizen_id_invalid"),
        ({"full_name": ""}, {"doc_form": ("a.pdf", PDF, "application/pdf")}, 422, "applicant_missing"),
        (
            {"date_of_birth": "1990-03-15"},
            {"doc_form": ("a.pdf", PDF, "application/pdf")},
            422,
            "date_invalid",
        ),
        (
            {"receiving_point": "HUYEN-SL"},
            {"doc_form": ("a.pdf", PDF, "application/pdf")},
            422,
            "desk_unknown",
        ),
        ({}, {"doc_form": ("a.txt", b"hello", "text/plain")}, 415, "document_type_not_allowed"),
    ],
)
async def test_bad_filings_are_4xx_pages_with_their_code(
    web: httpx.AsyncClient, fields: dict[str, str], files: dict[str, Any], status: int, code: str
) -> None:
    csrf = await _citizen(web)
    response = await web.post(
        "/online/new/LLTP", data={"csrf": csrf, **FIELDS, **fields}, files=files or None
    )
    assert response.status_code == status, response.text
    assert code in response.text


async def test_a_good_filing_gets_a_summary_and_a_stale_draft_is_a_409(web: httpx.AsyncClient) -> None:
    csrf = await _citizen(web)
    summary = await web.post(
        "/online/new/LLTP",
        data={"csrf": csrf, **FIELDS},
        files={"doc_form": ("to-khai.pdf", PDF, "application/pdf")},
    )
    assert summary.status_code == 200 and "to-khai.pdf" in summary.text
    stale = await web.post("/online/confirm", data={"csrf": csrf, "draft": "nope"})
    assert stale.status_code == 409 and "draft_gone" in stale.text
    forged = await web.post("/online/confirm", data={"draft": "nope"})
    assert forged.status_code == 403 and "csrf_failed" in forged.text


async def test_citizens_and_desks_keep_to_their_pages(web: httpx.AsyncClient) -> None:
    await _citizen(web)
    assert (await web.get("/desk/online")).status_code == 403
    await web.post("/logout")
    await sign_in(web, "tiepnhan", PASSWORD)
    assert (await web.get("/online")).status_code == 403
    assert (await web.get("/desk/online")).status_code == 200
    assert (await web.get("/desk/online/<x>")).status_code == 404
    assert (await web.get("/desk/online/ABC/documents/not-an-id")).status_code == 404
