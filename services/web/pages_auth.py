"""Log-in and log-out through the identity provider: the authorization code flow with PKCE.

``/login`` sends the browser to the provider's own log-in page with a fresh ``state``, ``nonce``
and PKCE challenge; the provider sends it back to ``/auth/callback`` with a code, which the web
(a confidential client) exchanges for tokens, checking the ID token's issuer, audience and nonce.
The tokens stay on the server, in the session; the browser holds only the session's random id.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.web.backend import BackendError, LoginRefused
from services.web.config import CALLBACK_PATH, SIGNED_OUT_PATH
from services.web.context import NotSignedIn, Web, WebError, home_path, see_other, web_of
from services.web.sessions import COOKIE
from shared.auth.oidc import ATTEMPT_TTL_S
from shared.auth.oidc import LoginRefused as AttemptRefused
from shared.auth.verifier import InvalidToken, verify_id_token

router = APIRouter()
# the browser's half of the state: a log-in completes only in the browser that started it
LOGIN_COOKIE = "motcua_login"
# refresh this long before the access token expires, so no call to a service carries a token
# that expires on the way
REFRESH_MARGIN_S = 60.0


@router.get("/", include_in_schema=False)
async def root(request: Request) -> Response:
    web = web_of(request)
    try:
        return see_other(home_path(web.session(request)))
    except NotSignedIn:
        return see_other("/login")


@router.get("/login")
async def login(request: Request) -> Response:
    # always a fresh attempt, even when signed in: signing in again may be as another user
    web = web_of(request)
    provider = await web.backend.discovery()
    attempt = web.logins.start()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": web.config.client_id,
            "redirect_uri": web.config.callback_url,
            "scope": "openid",
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": attempt.challenge,
            "code_challenge_method": "S256",
        }
    )
    response = see_other(f"{provider['authorization_endpoint']}?{query}")
    response.set_cookie(
        LOGIN_COOKIE,
        attempt.state,
        max_age=int(ATTEMPT_TTL_S),
        httponly=True,
        # lax: sent on the provider's top-level redirect back to us, not on cross-site subrequests
        samesite="lax",
        secure=web.config.secure_cookies,
        path=CALLBACK_PATH,
    )
    return response


@router.get(CALLBACK_PATH)
async def callback(request: Request) -> Response:
    web = web_of(request)
    params = request.query_params
    try:
        attempt = web.logins.complete(params.get("state"), request.cookies.get(LOGIN_COOKIE))
    except AttemptRefused as exc:
        raise WebError(400, exc.code) from None
    if params.get("error"):
        raise WebError(400, "login_provider_error")
    issuer = params.get("iss")
    if issuer is not None and not hmac.compare_digest(issuer.encode(), web.config.issuer.encode()):
        raise WebError(400, "login_issuer_mismatch")  # RFC 9207: an answer meant for another provider
    code = params.get("code")
    if not code:
        raise WebError(400, "login_code_refused")
    try:
        tokens = await web.backend.exchange_code(code, attempt.verifier)
    except LoginRefused:
        raise WebError(400, "login_code_refused") from None
    if tokens.id_token is None:
        raise WebError(400, "login_token_refused")
    try:
        identity = await verify_id_token(
            web.verifier, tokens.id_token, client_id=web.config.client_id, nonce=attempt.nonce
        )
        principal = await web.verifier.verify(tokens.access_token)
    except InvalidToken:
        raise WebError(400, "login_token_refused") from None
    if identity.get("preferred_username", principal.user_id) != principal.user_id:
        raise WebError(400, "login_token_refused")
    session = web.sessions.create(
        tokens.access_token,
        principal,
        tokens.expires_at,
        refresh_token=tokens.refresh_token,
        refresh_expires_at=tokens.refresh_expires_at,
        id_token=tokens.id_token,
    )
    response = see_other(home_path(session))
    response.delete_cookie(LOGIN_COOKIE, path=CALLBACK_PATH)
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=int(session.expires_at - time.time()),
        httponly=True,
        samesite="lax",
        secure=web.config.secure_cookies,
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Ends the web's session and the provider's (RP-initiated log-out): otherwise the next
    "sign in" would pass straight through the provider without asking anyone."""
    web = web_of(request)
    session = web.sessions.get(request.cookies.get(COOKIE))
    web.sessions.drop(request.cookies.get(COOKIE))
    target = SIGNED_OUT_PATH
    if session is not None:
        try:
            endpoint = (await web.backend.discovery()).get("end_session_endpoint")
        except BackendError:  # the local log-out stands even if the provider is away
            endpoint = None
        if isinstance(endpoint, str) and endpoint:
            query = {"client_id": web.config.client_id, "post_logout_redirect_uri": web.config.signed_out_url}
            if session.id_token:
                query["id_token_hint"] = session.id_token
            target = f"{endpoint}?{urlencode(query)}"
    response = see_other(target)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get(SIGNED_OUT_PATH, response_class=HTMLResponse)
async def signed_out(request: Request) -> Response:
    return web_of(request).render(request, "login.html", title="signed_out_title")


@router.get("/home", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    web = web_of(request)
    session = web.session(request)
    return web.render(request, "home.html", session=session)


async def keep_fresh(web: Web, session_id: str | None) -> None:
    """Renews the session's access token shortly before it expires (refresh token, rotated).
    A refused refresh ends the session: the next page asks the user to sign in again."""
    session = web.sessions.get(session_id)
    if session is None or session.refresh_token is None:
        return
    if session.token_expires_at - REFRESH_MARGIN_S > time.time():
        return
    async with web.refreshing(session.id):
        if session.token_expires_at - REFRESH_MARGIN_S > time.time():
            return  # a concurrent request of the same session renewed it while we waited
        try:
            tokens = await web.backend.refresh(session.refresh_token)
            principal = await web.verifier.verify(tokens.access_token)
        except (LoginRefused, InvalidToken):
            web.sessions.drop(session.id)
            return
        session.token = tokens.access_token
        session.token_expires_at = tokens.expires_at
        session.principal = principal
        session.refresh_token = tokens.refresh_token or session.refresh_token
        session.id_token = tokens.id_token or session.id_token
        if tokens.refresh_expires_at is not None:
            session.expires_at = min(session.expires_at, tokens.refresh_expires_at)
