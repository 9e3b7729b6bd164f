"""The web's pages over HTTP, with the services replaced by stubs: sign-in, sessions, CSRF, and
every refusal a page with a 4xx, its code and both messages — never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.identity_dev.app import create_identity_app
from services.web.app import create_web_app
from services.web.config import WebConfig
from shared.auth.settings import verifier_from_env
from tests.identity import ISSUER

PASSWORD = "mat-khau-thu"
PROCEDURE = {"code": "LLTP", "name_vi": "Cấp Phiếu lý lịch tư pháp", "department": "STP"}
CCCD = "001190012345||Trần Thị Bích Ngọc|15031990|Nữ|Số 12 Phố Huế, Hà Nội|01072021"


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": {"vi": f"vi {code}", "en": code}}})


def _intake(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/procedures":
        return httpx.Response(200, json=[PROCEDURE])
    if request.method == "POST" and request.url.path == "/dossiers":
        body = json.loads(request.content)
        if body["applicant"]["full_name"] == "Trái Tuyến":
            return _error(403, "other_desk")
        return httpx.Response(201, json={"code": "000.00.20.H99-260317-0001", "tracking_secret": "bí-mật"})
    return _error(404, "not_found")


def _processing(request: httpx.Request) -> httpx.Response:
    if request.url.path.startswith("/track/"):
        return _error(404, "tracking_not_found")
    raise httpx.ConnectError("down", request=request)


@pytest.fixture
async def web() -> Any:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "intake": httpx.MockTransport(_intake),
        "processing": httpx.MockTransport(_processing),
        "identity": httpx.ASGITransport(app=create_identity_app(ISSUER, PASSWORD)),
    }
    config = WebConfig(
        services={name: f"http://{name}" for name in ("intake", "processing", "postal", "scoring")},
        token_url=f"{ISSUER.issuer}/protocol/openid-connect/token",
    )
    app = create_web_app(config, verifier_from_env(), transports)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        yield client


async def _sign_in(web: httpx.AsyncClient, user: str) -> str:
    """Signs in; returns the CSRF token of the user's home page (the desk's, for desk officers)."""
    signed = await web.post("/login", data={"username": user, "password": PASSWORD})
    assert signed.status_code == 303, signed.text
    page = await web.get(signed.headers["location"], follow_redirects=True)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    return found.group(1) if found else ""


def _explains(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert code in response.text


async def test_not_signed_in_goes_to_the_log_in_page(web: httpx.AsyncClient) -> None:
    for path in ("/", "/desk", "/officer/queues/active"):
        response = await web.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await web.get("/login")).status_code == 200


async def test_a_wrong_password_is_a_401_page(web: httpx.AsyncClient) -> None:
    response = await web.post("/login", data={"username": "tiepnhan", "password": "sai"})
    assert response.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in response.text
    assert "motcua_session" not in response.headers.get("set-cookie", "")


async def test_the_session_cookie_is_random_httponly_lax_and_roles_land_on_their_page(
    web: httpx.AsyncClient,
) -> None:
    signed = await web.post("/login", data={"username": "tiepnhan", "password": PASSWORD})
    cookie = signed.headers["set-cookie"]
    assert signed.headers["location"] == "/desk"
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert len(re.search(r"motcua_session=([^;]+)", cookie).group(1)) >= 40
    officer = await web.post("/login", data={"username": "canbo.stp", "password": PASSWORD})
    assert officer.headers["location"] == "/officer"
    auditor = await web.post("/login", data={"username": "thanhtra", "password": PASSWORD})
    assert auditor.headers["location"] == "/leader"
    assert (await web.get("/desk")).status_code == 403  # the auditor's session now: not a desk


async def test_signing_out_ends_the_session(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "tiepnhan")
    await web.post("/logout")
    assert (await web.get("/desk")).headers["location"] == "/login"


async def test_a_form_without_its_csrf_token_is_refused(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "tiepnhan")
    response = await web.post("/desk/receive", data={"procedure": "LLTP", "cccd_line": CCCD})
    _explains(response, 403, "csrf_failed")


async def test_receiving_from_the_qr_line_alone_redirects_to_the_receipt(web: httpx.AsyncClient) -> None:
    csrf = await _sign_in(web, "tiepnhan")
    response = await web.post("/desk/receive", data={"csrf": csrf, "procedure": "lltp", "cccd_line": CCCD})
    assert response.status_code == 303
    assert response.headers["location"] == "/desk/receipts/000.00.20.H99-260317-0001"


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"procedure": "không có", "cccd_line": CCCD}, 422, "procedure_unknown"),
        ({"procedure": "LLTP", "cccd_line": "123|x"}, 422, "cccd_line_malformed"),
        (
            {"procedure": "LLTP", "cccd_line": CCCD.replace("001190012345", "00119001234X")},
            422,
            "cccd_invalid_id",
        ),
        ({"procedure": "LLTP", "cccd_line": CCCD, "date_of_birth": "31/02/1990"}, 422, "date_invalid"),
        ({"procedure": "LLTP", "cccd_line": CCCD, "full_name": "Trái Tuyến"}, 403, "other_desk"),
    ],
)
async def test_a_refused_receipt_keeps_the_form_and_says_why(
    web: httpx.AsyncClient, fields: dict[str, str], status: int, code: str
) -> None:
    csrf = await _sign_in(web, "tiepnhan")
    response = await web.post("/desk/receive", data={"csrf": csrf, **fields})
    _explains(response, status, code)
    assert f'value="{fields["procedure"]}"' in response.text or "LLTP —" in response.text


async def test_the_qr_endpoint_answers_fields_or_a_reason(web: httpx.AsyncClient) -> None:
    csrf = await _sign_in(web, "tiepnhan")
    ok = await web.post("/desk/cccd", data={"csrf": csrf, "line": CCCD})
    assert ok.json() == {
        "full_name": "Trần Thị Bích Ngọc",
        "citizen_id": "001190012345",
        "date_of_birth": "15/03/1990",
        "address": "Số 12 Phố Huế, Hà Nội",
    }
    bad = await web.post("/desk/cccd", data={"csrf": csrf, "line": "nope"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "cccd_line_malformed"


async def test_other_roles_do_not_get_the_desk(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "canbo.stp")
    _explains(await web.get("/desk"), 403, "forbidden")


async def test_a_service_that_cannot_be_reached_is_a_503_page(web: httpx.AsyncClient) -> None:
    await web.post("/login", data={"username": "canbo.stp", "password": PASSWORD})
    _explains(await web.get("/officer/queues/active"), 503, "service_unavailable")


async def test_tracking_refusals_are_404_pages_without_caching(web: httpx.AsyncClient) -> None:
    wrong = await web.get("/track/000.00.20.H99-260317-0001", params={"s": "sai"})
    _explains(wrong, 404, "tracking_not_found")
    assert wrong.headers["referrer-policy"] == "no-referrer" and wrong.headers["cache-control"] == "no-store"
    assert (await web.get("/track/<script>", params={"s": "x"})).status_code == 404
    assert (await web.get("/track/ABC")).status_code == 404  # no secret


async def test_unknown_pages_are_404_pages(web: httpx.AsyncClient) -> None:
    _explains(await web.get("/nowhere"), 404, "not_found")
    _explains(await web.get("/nowhere", headers={"Accept": "application/json"}), 404, "not_found")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    fields=st.dictionaries(
        st.sampled_from(["procedure", "cccd_line", "full_name", "citizen_id", "date_of_birth", "channel"]),
        st.text(max_size=60),
    )
)
async def test_no_desk_input_ends_in_a_500(fields: dict[str, str]) -> None:
    transports: dict[str, httpx.AsyncBaseTransport] = {
        "intake": httpx.MockTransport(_intake),
        "identity": httpx.ASGITransport(app=create_identity_app(ISSUER, PASSWORD)),
    }
    config = WebConfig(
        services={"intake": "http://intake"}, token_url=f"{ISSUER.issuer}/protocol/openid-connect/token"
    )
    app = create_web_app(config, verifier_from_env(), transports)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as web:
        csrf = await _sign_in(web, "tiepnhan")
        response = await web.post("/desk/receive", data={"csrf": csrf, **fields})
        assert response.status_code < 500, response.text
