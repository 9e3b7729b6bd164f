"""A small OpenID Connect provider for development: discovery, JWKS and a password grant.

It speaks the parts of the protocol the services and the web use — the discovery document,
the keys (``…/certs``) and the token endpoint — at Keycloak's paths, so that pointing motcua at
the province's Keycloak is a change of URL. Its users are the demo users; their password is the
data folder's generated ``demo_password``, printed by `make run`.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.identity_dev import REALM_PATH
from shared.auth.dev_issuer import DEMO_USERS, DevIssuer, demo_user

TOKEN_TTL_S = 8 * 3600  # one working day at the desk


def create_identity_app(issuer: DevIssuer, demo_password: str) -> FastAPI:
    app = FastAPI(title="motcua development identity provider", docs_url=None, redoc_url=None)
    base = issuer.issuer

    @app.get(f"{REALM_PATH}/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": base,
            "jwks_uri": f"{base}/protocol/openid-connect/certs",
            "token_endpoint": f"{base}/protocol/openid-connect/token",
            "grant_types_supported": ["password"],
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

    @app.post(f"{REALM_PATH}/protocol/openid-connect/token")
    async def token(request: Request) -> JSONResponse:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "password":
            return _oauth_error(400, "unsupported_grant_type", "only the password grant in development")
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


def _oauth_error(status: int, code: str, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)
