"""The web's pages over HTTP, with the services replaced by stubs: sign-in, sessions, CSRF, and
every refusal a page with a 4xx, its code and both messages — never a 500."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.identity import ISSUER
from tests.web_login import WEB_CLIENT_ID, WEB_CLIENT_SECRET, provider_form, sign_in, web_with_identity

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
    }
    app = web_with_identity(transports, PASSWORD)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        yield client


async def _sign_in(web: httpx.AsyncClient, user: str) -> str:
    """Signs in; returns the CSRF token of the user's home page (the desk's, for desk officers)."""
    signed = await sign_in(web, user, PASSWORD)
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


async def test_log_in_sends_the_browser_to_the_provider_with_state_nonce_and_pkce(
    web: httpx.AsyncClient,
) -> None:
    first, second = await web.get("/login"), await web.get("/login")
    assert first.status_code == 303
    where = urlsplit(first.headers["location"])
    assert f"{where.scheme}://{where.netloc}{where.path}" == f"{ISSUER.issuer}/protocol/openid-connect/auth"
    query = parse_qs(where.query)
    assert query["response_type"] == ["code"] and query["client_id"] == [WEB_CLIENT_ID]
    assert query["redirect_uri"] == ["http://web/auth/callback"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    again = parse_qs(urlsplit(second.headers["location"]).query)
    for fresh in ("state", "nonce", "code_challenge"):
        assert len(query[fresh][0]) >= 43 and query[fresh] != again[fresh]
    cookie = first.headers["set-cookie"]
    assert f"motcua_login={query['state'][0]}" in cookie and "HttpOnly" in cookie
    assert "Path=/auth/callback" in cookie


async def test_a_wrong_password_is_the_providers_401_page_and_no_session(web: httpx.AsyncClient) -> None:
    response = await sign_in(web, "tiepnhan", "sai")
    assert response.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in response.text
    assert 'for="username"' in response.text and 'for="password"' in response.text
    assert (await web.get("/desk")).headers["location"] == "/login"


async def test_the_session_cookie_is_random_httponly_lax_and_roles_land_on_their_page(
    web: httpx.AsyncClient,
) -> None:
    signed = await sign_in(web, "tiepnhan", PASSWORD)
    cookie = signed.headers["set-cookie"]
    assert signed.headers["location"] == "/desk"
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert len(re.search(r"motcua_session=([^;]+)", cookie).group(1)) >= 40
    officer = await sign_in(web, "canbo.stp", PASSWORD)
    assert officer.headers["location"] == "/officer"
    auditor = await sign_in(web, "thanhtra", PASSWORD)
    assert auditor.headers["location"] == "/leader"
    assert (await web.get("/desk")).status_code == 403  # the auditor's session now: not a desk


async def _provider_answer(web: httpx.AsyncClient, user: str = "tiepnhan") -> str:
    """The provider's redirect back to the web (its callback URL with code and state), unused."""
    start = await web.get("/login")
    identity = web._transport.app.state.identity_app  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=identity)) as browser:
        page = await browser.get(start.headers["location"])
        form = provider_form(page.text)
        answer = await browser.post(
            f"{ISSUER.issuer.split('/realms')[0]}{form.pop('')}",
            data={**form, "username": user, "password": PASSWORD},
        )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def test_a_wrong_state_is_a_400_page_with_its_code(web: httpx.AsyncClient) -> None:
    callback = await _provider_answer(web)
    forged = re.sub(r"state=[^&]+", "state=khong-phai-cua-toi", callback)
    _explains(await web.get(forged), 400, "login_state_mismatch")
    # a callback in a browser that never started this log-in (no state cookie): log-in CSRF
    web.cookies.clear()
    _explains(await web.get(callback), 400, "login_state_mismatch")
    assert (await web.get("/desk")).headers["location"] == "/login"


async def test_a_replayed_callback_and_a_replayed_code_are_refused(web: httpx.AsyncClient) -> None:
    callback = await _provider_answer(web)
    login_cookie = web.cookies.get("motcua_login")
    first = await web.get(callback)
    assert first.status_code == 303 and first.headers["location"] == "/desk"
    # the same callback again, as if the browser's history were replayed with its old cookie
    web.cookies.set("motcua_login", login_cookie, path="/auth/callback")
    _explains(await web.get(callback), 400, "login_state_unknown")
    # the code itself, straight at the token endpoint: used once, then refused
    code = parse_qs(urlsplit(callback).query)["code"][0]
    identity = web._transport.app.state.identity_app  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=identity)) as client:
        replay = await client.post(
            f"{ISSUER.issuer}/protocol/openid-connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://web/auth/callback",
                  "code_verifier": "x" * 43},
            auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET),
        )  # fmt: skip
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


async def test_signing_out_ends_the_session_and_the_providers(web: httpx.AsyncClient) -> None:
    await _sign_in(web, "tiepnhan")
    out = await web.post("/logout")
    assert out.status_code == 303
    end = urlsplit(out.headers["location"])
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{ISSUER.issuer}/protocol/openid-connect/logout"
    query = parse_qs(end.query)
    assert query["post_logout_redirect_uri"] == ["http://web/signed-out"] and query["id_token_hint"]
    assert (await web.get("/desk")).headers["location"] == "/login"
    page = await web.get("/signed-out")
    assert page.status_code == 200 and "Bạn đã đăng xuất" in page.text and 'href="/login"' in page.text


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
    await sign_in(web, "canbo.stp", PASSWORD)
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
    }
    app = web_with_identity(transports, PASSWORD)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as web:
        csrf = await _sign_in(web, "tiepnhan")
        response = await web.post("/desk/receive", data={"csrf": csrf, **fields})
        assert response.status_code < 500, response.text
