"""The web's log-in in tests: the development provider registers the web as a client, and
``sign_in`` walks the authorization code flow as a browser would (the provider's form posted)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from services.identity_dev.app import create_identity_app
from services.identity_dev.flows import Client
from services.web.app import create_web_app
from services.web.config import CALLBACK_PATH, SIGNED_OUT_PATH, WebConfig
from shared.auth.settings import verifier_from_env
from tests.identity import ISSUER

WEB_CLIENT_ID = "motcua-web"
WEB_CLIENT_SECRET = "bi-mat-cua-web-khi-thu"  # the test provider's registration of the web
SERVICE_NAMES = ("intake", "processing", "postal", "scoring")


def web_client(public_url: str) -> Client:
    return Client(
        WEB_CLIENT_ID,
        WEB_CLIENT_SECRET,
        redirect_uris=(f"{public_url}{CALLBACK_PATH}",),
        post_logout_redirect_uris=(f"{public_url}{SIGNED_OUT_PATH}",),
    )


def web_config(public_url: str = "http://web", services: Mapping[str, str] | None = None) -> WebConfig:
    return WebConfig(
        services=dict(services or {name: f"http://{name}" for name in SERVICE_NAMES}),
        issuer=ISSUER.issuer,
        client_secret=WEB_CLIENT_SECRET,
        client_id=WEB_CLIENT_ID,
        public_url=public_url,
    )


def web_with_identity(
    transports: Mapping[str, httpx.AsyncBaseTransport],
    password: str,
    *,
    public_url: str = "http://web",
    identity_browser_url: str | None = None,
    access_ttl_s: int | None = None,
    services: Mapping[str, str] | None = None,
) -> FastAPI:
    """The web with an in-process development provider that knows it as a client; the provider's
    app is kept on ``app.state.identity_app`` for ``sign_in``."""
    extra = {} if access_ttl_s is None else {"access_ttl_s": access_ttl_s}
    identity = create_identity_app(
        ISSUER, password, [web_client(public_url)], browser_url=identity_browser_url, **extra
    )
    app = create_web_app(
        web_config(public_url, services),
        verifier_from_env(),
        {**transports, "identity": httpx.ASGITransport(app=identity)},
    )
    app.state.identity_app = identity
    return app


async def sign_in(web: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    """The browser's way through the code flow; returns the web's answer to the callback (a 303
    to the user's home page with the session cookie) — or the provider's page if it refused."""
    transport = web._transport  # the web app's ASGI transport: its app holds the test provider
    assert isinstance(transport, httpx.ASGITransport)
    identity_app = transport.app.state.identity_app  # type: ignore[attr-defined]
    start = await web.get("/login")
    assert start.status_code == 303, start.text
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=identity_app)) as browser:
        page = await browser.get(start.headers["location"])
        if page.status_code != 200:
            return page
        form = provider_form(page.text)
        action = urlsplit(start.headers["location"])
        answer = await browser.post(
            f"{action.scheme}://{action.netloc}{form.pop('')}",
            data={**form, "username": user, "password": password},
        )
    if answer.status_code != 303:
        return answer
    return await web.get(answer.headers["location"])


def provider_form(page: str) -> dict[str, str]:
    """The provider's log-in form: its action (under key "") and its hidden fields."""
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action, page
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {"": html.unescape(action.group(1)), **{k: html.unescape(v) for k, v in hidden}}
