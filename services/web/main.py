"""``uvicorn services.web.main:create_app --factory``: the web, configured from the environment.

Users sign in at the provider of ``MOTCUA_OIDC_ISSUER`` (its discovery document names the
endpoints), the web being its confidential client ``MOTCUA_WEB_CLIENT_ID`` with
``MOTCUA_WEB_CLIENT_SECRET`` and ``MOTCUA_WEB_REDIRECT_URI`` (default ``{public URL}/auth/callback``);
``MOTCUA_WEB_{INTAKE,PROCESSING,POSTAL,SCORING}_URL`` (default the local ports)
are the services; ``MOTCUA_WEB_PUBLIC_URL`` is the address printed in receipts' QR codes. Tokens
are verified like the services verify them (``MOTCUA_OIDC_*``).
"""

from __future__ import annotations

from fastapi import FastAPI

from services.web.app import create_web_app
from services.web.config import WebConfig
from shared.auth.settings import verifier_from_env


def create_app() -> FastAPI:
    return create_web_app(WebConfig.from_env(), verifier_from_env())
