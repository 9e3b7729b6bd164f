"""The code flow's checks one by one: PKCE, the provider's refusals, the ID token's nonce and
audience, refreshing before expiry, and log-out ending the provider's session."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.identity_dev.flows import s256
from shared.auth.oidc import LoginRefused, PendingLogins, pkce_challenge
from shared.auth.settings import verifier_from_env
from shared.auth.verifier import InvalidToken, verify_id_token
from tests.identity import ISSUER
from tests.web_login import WEB_CLIENT_ID, WEB_CLIENT_SECRET, provider_form, sign_in, web_with_identity

PASSWORD = "mat-khau-thu"
TOKEN_URL = f"{ISSUER.issuer}/protocol/openid-connect/token"
CALLBACK = "http://web/auth/callback"


def test_the_pkce_challenge_is_rfc_7636s_example() -> None:
    # RFC 7636 Appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_state_completes_once_and_only_with_the_browsers_cookie() -> None:
    logins = PendingLogins()
    attempt = logins.start()
    assert len({attempt.state, attempt.nonce, attempt.verifier}) == 3 and len(attempt.verifier) == 43
    with pytest.raises(LoginRefused) as crossed:
        logins.complete(attempt.state, "another-browsers-state")
    assert crossed.value.code == "login_state_mismatch"
    with pytest.raises(LoginRefused):
        logins.complete(None, attempt.state)
    assert logins.complete(attempt.state, attempt.state) == attempt
    with pytest.raises(LoginRefused) as replayed:
        logins.complete(attempt.state, attempt.state)
    assert replayed.value.code == "login_state_unknown"
    expired = PendingLogins(ttl_s=0.0).start()
    with pytest.raises(LoginRefused):
        PendingLogins(ttl_s=0.0).complete(expired.state, expired.state)


async def test_the_id_token_must_carry_this_log_ins_nonce_and_be_for_this_client() -> None:
    verifier = verifier_from_env()
    good = ISSUER.token_for("tiepnhan", aud=WEB_CLIENT_ID, nonce="n-1")
    claims = await verify_id_token(verifier, good, client_id=WEB_CLIENT_ID, nonce="n-1")
    assert claims["preferred_username"] == "tiepnhan"
    with pytest.raises(InvalidToken, match="nonce"):
        await verify_id_token(verifier, good, client_id=WEB_CLIENT_ID, nonce="n-2")
    with pytest.raises(InvalidToken):
        await verify_id_token(verifier, good, client_id="another-app", nonce="n-1")
    no_nonce = ISSUER.token_for("tiepnhan", aud=WEB_CLIENT_ID)
    with pytest.raises(InvalidToken, match="nonce"):
        await verify_id_token(verifier, no_nonce, client_id=WEB_CLIENT_ID, nonce="n-1")


@pytest.fixture
async def web() -> Any:
    # 30 s access tokens: inside the web's refresh margin, so every page renews the token
    app = web_with_identity({}, PASSWORD, access_ttl_s=30)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        yield client


def _provider(web: httpx.AsyncClient) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web._transport.app.state.identity_app))  # type: ignore[attr-defined]


async def _code(web: httpx.AsyncClient) -> tuple[str, dict[str, list[str]]]:
    start = await web.get("/login")
    request = parse_qs(urlsplit(start.headers["location"]).query)
    async with _provider(web) as browser:
        page = await browser.get(start.headers["location"])
        form = provider_form(page.text)
        answer = await browser.post(
            f"https://login.test.motcua.local{form.pop('')}",
            data={**form, "username": "tiepnhan", "password": PASSWORD},
        )
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0], request


async def test_the_provider_refuses_a_wrong_verifier_secret_or_redirect_uri(web: httpx.AsyncClient) -> None:
    async with _provider(web) as provider:
        ours, wrong = (WEB_CLIENT_ID, WEB_CLIENT_SECRET), (WEB_CLIENT_ID, "wrong")
        for form, auth, error in (
            ({"redirect_uri": CALLBACK, "code_verifier": "x" * 43}, ours, "invalid_grant"),
            ({"redirect_uri": "http://evil/cb", "code_verifier": None}, ours, "invalid_grant"),
            ({"redirect_uri": CALLBACK, "code_verifier": None}, wrong, "invalid_client"),
        ):
            code, _ = await _code(web)
            sent = {k: v for k, v in form.items() if v is not None}
            answer = await provider.post(
                TOKEN_URL, data={"grant_type": "authorization_code", "code": code, **sent}, auth=auth
            )
            assert answer.status_code in (400, 401) and answer.json()["error"] == error, answer.text
        # an authorization request without S256 PKCE, or to an unregistered redirect URI, is
        # answered on the provider's own page: never redirected
        base = f"{ISSUER.issuer}/protocol/openid-connect/auth?response_type=code&client_id={WEB_CLIENT_ID}"
        plain = await provider.get(
            f"{base}&redirect_uri={CALLBACK}&code_challenge={'a' * 43}&code_challenge_method=plain"
        )
        elsewhere = await provider.get(
            f"{base}&redirect_uri=http://evil/cb&code_challenge={'a' * 43}&code_challenge_method=S256"
        )
        assert plain.status_code == elsewhere.status_code == 400
        assert "location" not in elsewhere.headers


async def test_the_access_token_is_refreshed_before_it_expires(web: httpx.AsyncClient) -> None:
    signed = await sign_in(web, "tiepnhan", PASSWORD)
    assert signed.status_code == 303
    sessions = web._transport.app.state.web.sessions  # type: ignore[attr-defined]
    session = sessions.get(web.cookies.get("motcua_session"))
    first_token, first_refresh = session.token, session.refresh_token
    assert session.token_expires_at < time.time() + 31
    assert (await web.get("/home")).status_code == 200
    assert session.token != first_token and session.refresh_token != first_refresh
    # the old refresh token was rotated away: the provider refuses it
    async with _provider(web) as provider:
        old = await provider.post(
            TOKEN_URL,
            data={"grant_type": "refresh_token", "refresh_token": first_refresh},
            auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET),
        )
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"


async def test_log_out_ends_the_providers_session_and_its_refresh_tokens(web: httpx.AsyncClient) -> None:
    await sign_in(web, "tiepnhan", PASSWORD)
    sessions = web._transport.app.state.web.sessions  # type: ignore[attr-defined]
    refresh = sessions.get(web.cookies.get("motcua_session")).refresh_token
    out = await web.post("/logout")
    async with _provider(web) as browser:
        # the browser follows the web to the provider's end_session_endpoint, then back
        ended = await browser.get(out.headers["location"])
        assert ended.status_code == 303 and ended.headers["location"] == "http://web/signed-out"
        renewed = await browser.post(
            TOKEN_URL,
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET),
        )
    assert renewed.status_code == 400 and renewed.json()["error"] == "invalid_grant"


async def test_every_bad_callback_is_a_400_page_with_its_code(web: httpx.AsyncClient) -> None:
    for query in ("", "?code=x", "?state=&code=x", "?state=%00%ff&code=x"):
        answer = await web.get(f"/auth/callback{query}", headers={"Accept": "application/json"})
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "login_state_mismatch"
    for extra, code in (
        ("error=access_denied", "login_provider_error"),
        ("code=x&iss=https%3A%2F%2Fkhac.example%2Frealms%2Fx", "login_issuer_mismatch"),
        ("code=khong-co-that", "login_code_refused"),
        ("", "login_code_refused"),
    ):
        state = parse_qs(urlsplit((await web.get("/login")).headers["location"]).query)["state"][0]
        answer = await web.get(
            f"/auth/callback?state={state}&{extra}", headers={"Accept": "application/json"}
        )
        body = answer.json()["error"]
        assert answer.status_code == 400 and body["code"] == code, answer.text
        assert (
            body["message"]["vi"] and body["message"]["en"] and body["message"]["vi"] != body["message"]["en"]
        )
