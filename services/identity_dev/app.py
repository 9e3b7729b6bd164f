"""A small OpenID Connect provider for development: discovery, JWKS, its own log-in page, the
authorization code flow with PKCE, refresh tokens, log-out — and the password grant for the CLI.

It speaks the parts of the protocol the services and the web use at Keycloak's paths, so that
pointing motcua at the province's Keycloak (or the national citizen log-in) is a change of URL.
Its users are the demo users; their password is the data folder's generated ``demo_password``,
printed by `make run`. The web is a registered confidential client (``clients``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.identity_dev import REALM_PATH
from services.identity_dev.flows import REFRESH_TTL_S, Client, FlowError, Flows, Grant
from shared.auth.dev_issuer import DEMO_USERS, DemoUser, DevIssuer, demo_user

TOKEN_TTL_S = 8 * 3600  # the password grant's (CLI) token: one working day at the desk
ACCESS_TTL_S = 15 * 60  # the web's access token: short, the web refreshes it
SSO_COOKIE = "motcua_idp_session"
# the authorization request's parameters the log-in form carries back
AUTH_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
               "code_challenge", "code_challenge_method")  # fmt: skip


def create_identity_app(
    issuer: DevIssuer,
    demo_password: str,
    clients: Iterable[Client] = (),
    *,
    browser_url: str | None = None,
    access_ttl_s: int = ACCESS_TTL_S,
) -> FastAPI:
    """``browser_url`` is where browsers reach the realm when it differs from the issuer seen by
    servers (Keycloak's "frontend URL"); by default the issuer itself."""
    app = FastAPI(title="motcua development identity provider", docs_url=None, redoc_url=None)
    base = issuer.issuer
    front = (browser_url or base).rstrip("/")
    flows = Flows({c.client_id: c for c in clients})
    templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
    auth_path = f"{REALM_PATH}/protocol/openid-connect/auth"

    @app.get(f"{REALM_PATH}/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": base,
            "authorization_endpoint": f"{front}/protocol/openid-connect/auth",
            "token_endpoint": f"{base}/protocol/openid-connect/token",
            "end_session_endpoint": f"{front}/protocol/openid-connect/logout",
            "jwks_uri": f"{base}/protocol/openid-connect/certs",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "password"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    @app.get(f"{REALM_PATH}/protocol/openid-connect/certs")
    async def certs() -> dict[str, Any]:
        return issuer.jwks()

    @app.get(f"{REALM_PATH}/users")
    async def users() -> list[dict[str, Any]]:
        return [
            {"username": u.username, "roles": [str(r) for r in u.roles], "unit": u.agency, "name": u.name}
            for u in DEMO_USERS
        ]

    def login_page(request: Request, params: dict[str, str], status: int = 200, **ctx: Any) -> HTMLResponse:
        hidden = [(k, params[k]) for k in AUTH_PARAMS if params.get(k)]
        page: HTMLResponse = templates.TemplateResponse(
            request,
            "login.html",
            {
                "action": auth_path,
                "hidden": hidden,
                "client_id": params.get("client_id", ""),
                "users": [_shown(u) for u in DEMO_USERS],
                "username": "",
                "error": False,
                **ctx,
            },
            status_code=status,
            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
        )
        return page

    def back_to_client(params: dict[str, str], username: str, sid: str) -> Response:
        code = flows.issue_code(
            Grant(
                client_id=params["client_id"],
                username=username,
                session_id=sid,
                redirect_uri=params["redirect_uri"],
                code_challenge=params["code_challenge"],
                nonce=params.get("nonce", ""),
            )
        )
        answer = {"code": code, "iss": base, **({"state": params["state"]} if params.get("state") else {})}
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(answer)}", status_code=303)

    def checked(params: dict[str, str]) -> Response | None:
        try:
            flows.check_request(
                params.get("client_id", ""),
                params.get("redirect_uri", ""),
                params.get("response_type", ""),
                params.get("code_challenge_method", ""),
                params.get("code_challenge", ""),
            )
        except FlowError as exc:
            # shown here, never redirected: the redirect URI itself may be what is wrong
            return _oauth_error(exc.status, exc.code, exc.description)
        return None

    @app.get(auth_path, response_class=HTMLResponse)
    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        refused = checked(params)
        if refused is not None:
            return refused
        sid = request.cookies.get(SSO_COOKIE)
        user = flows.session_user(sid)
        if user is not None and sid is not None and params.get("prompt") != "login":
            return back_to_client(params, user, sid)  # single sign-on: already signed in here
        return login_page(request, params)

    @app.post(auth_path, response_class=HTMLResponse)
    async def authenticate(request: Request) -> Response:
        params = _form(await request.body())
        refused = checked(params)
        if refused is not None:
            return refused
        username = params.get("username", "").strip()
        try:
            user: DemoUser | None = demo_user(username)
        except KeyError:
            user = None
        password = params.get("password", "")
        if user is None or not hmac.compare_digest(password.encode(), demo_password.encode()):
            return login_page(request, params, 401, error=True, username=username)
        sid = flows.start_session(user.username)
        response = back_to_client(params, user.username, sid)
        response.set_cookie(SSO_COOKIE, sid, httponly=True, samesite="lax", path=REALM_PATH)
        return response

    @app.get(f"{REALM_PATH}/protocol/openid-connect/logout")
    async def logout(request: Request) -> Response:
        params = dict(request.query_params)
        flows.end_session(request.cookies.get(SSO_COOKIE))
        target = params.get("post_logout_redirect_uri", "")
        client = flows.clients.get(params.get("client_id", ""))
        if target and client is not None and target in client.post_logout_redirect_uris:
            state = f"?{urlencode({'state': params['state']})}" if params.get("state") else ""
            response: Response = RedirectResponse(f"{target}{state}", status_code=303)
        else:
            response = HTMLResponse("<!doctype html><html lang='vi'><title>Đã đăng xuất</title>"
                                    "<main><h1>Bạn đã đăng xuất (signed out)</h1></main></html>")  # fmt: skip
        response.delete_cookie(SSO_COOKIE, path=REALM_PATH)
        return response

    def tokens(grant: Grant, client: Client) -> JSONResponse:
        user = demo_user(grant.username)
        body: dict[str, Any] = {
            "access_token": issuer.token_for(user, ttl_s=access_ttl_s),
            "token_type": "Bearer",
            "expires_in": access_ttl_s,
            "refresh_token": flows.issue_refresh(grant),
            "refresh_expires_in": REFRESH_TTL_S,
            "id_token": issuer.token_for(
                user,
                ttl_s=access_ttl_s,
                aud=client.client_id,
                azp=client.client_id,
                sid=grant.session_id,
                **({"nonce": grant.nonce} if grant.nonce else {}),
            ),
            "scope": "openid",
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @app.post(f"{REALM_PATH}/protocol/openid-connect/token")
    async def token(request: Request) -> JSONResponse:
        form = _form(await request.body())
        grant_type = form.get("grant_type")
        if grant_type == "password":
            return password_grant(form)
        try:
            client = _client_of(flows, request, form)
            if grant_type == "authorization_code":
                grant = flows.redeem_code(
                    form.get("code", ""), client, form.get("redirect_uri", ""), form.get("code_verifier", "")
                )
            elif grant_type == "refresh_token":
                grant = flows.redeem_refresh(form.get("refresh_token", ""), client)
            else:
                raise FlowError("unsupported_grant_type", "authorization_code, refresh_token or password")
        except FlowError as exc:
            return _oauth_error(exc.status, exc.code, exc.description)
        return tokens(grant, client)

    def password_grant(form: dict[str, str]) -> JSONResponse:
        # kept for the `motcua token` command and scripts only: the web signs in with a code
        username, password = form.get("username", ""), form.get("password", "")
        try:
            user = demo_user(username)
        except KeyError:
            user = None
        if user is None or not hmac.compare_digest(password.encode(), demo_password.encode()):
            return _oauth_error(401, "invalid_grant", "unknown user or wrong password")
        return JSONResponse(
            {
                "access_token": issuer.token_for(user, ttl_s=TOKEN_TTL_S),
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL_S,
            },
            headers={"Cache-Control": "no-store"},
        )

    return app


def _shown(user: DemoUser) -> dict[str, Any]:
    return {"username": user.username, "name": user.name, "roles": [str(r) for r in user.roles],
            "agency": user.agency}  # fmt: skip


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _client_of(flows: Flows, request: Request, form: dict[str, str]) -> Client:
    """The client authenticated by HTTP Basic or by the form (RFC 6749 §2.3.1)."""
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise FlowError("invalid_client", "malformed Basic credentials", 401) from None
        client_id, _, secret = decoded.partition(":")
    client = flows.client(client_id)
    if not client.authenticates(secret):
        raise FlowError("invalid_client", "client authentication failed", 401)
    return client


def _oauth_error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)
