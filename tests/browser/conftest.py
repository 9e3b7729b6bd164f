"""Browser tests: Playwright for Python driving Debian's ``chromium`` (never a downloaded browser).

No browser is a failure with instructions, never a skip: a suite that silently skips its
browser stories would pass while the pages are broken. Screenshots of every page go to
``tests/artifacts/`` (ignored by git) on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from services.identity_dev import REALM_PATH
from services.identity_dev.app import create_identity_app
from services.web.app import create_web_app
from shared.auth.settings import verifier_from_env
from tests.identity import ISSUER
from tests.web_login import web_client, web_config, web_with_identity

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# axe-core as the axe-playwright-python package ships it (pinned in requirements.txt): read from
# the installed package, never downloaded while the tests run
AXE_SOURCE = (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
# WCAG 2.1 A and AA, which include colour contrast; what a page must not have at these impacts
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
DEMO_PASSWORD = "mat-khau-thu"  # the in-process identity provider's demo password


def chromium_path() -> str:
    """Debian's chromium (``apt-get install chromium``; ``.ci/run`` installs it), or
    ``MOTCUA_CHROMIUM``."""
    found = os.environ.get("MOTCUA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "No Chromium for the browser tests: install Debian's package (apt-get install chromium,"
            " as .ci/run does) or set MOTCUA_CHROMIUM to a Chromium executable. The browser tests"
            " never skip.",
            pytrace=False,
        )
    return found


async def check_accessible(page: Any, name: str) -> None:
    """axe-core on the page as it is now: no violation of serious or critical impact (missing
    labels, too little contrast, ...), and every form field named by a label."""
    await page.evaluate(AXE_SOURCE)  # evaluate, not a <script>: no Content-Security-Policy applies
    results = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    ran = {
        rule["id"]
        for kind in ("passes", "violations", "incomplete", "inapplicable")
        for rule in results[kind]
    }
    assert {"color-contrast", "label"} <= ran, f"{name}: axe did not check contrast and labels"
    blocking = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]
    assert not blocking, f"{name}: accessibility violations:\n" + "\n".join(blocking)
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.type !== 'button')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.id || el.name || el.outerHTML.slice(0, 80))"""
    )
    assert not unlabelled, f"{name}: form fields without a label: {unlabelled}"


@pytest.fixture
def shots(request: pytest.FixtureRequest):
    """``await shot(page, "name")`` checks the page's accessibility (``check_accessible``) and
    writes tests/artifacts/<test>-<nn>-<name>.png — the screenshot first, so a failing page is
    still there to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    counter = iter(range(1, 100))

    async def shot(page, name: str, *, accessible: bool = True) -> Path:
        path = ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        if accessible:
            await check_accessible(page, name)
        return path

    return shot


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@contextlib.asynccontextmanager
async def serving(
    make_app: Callable[[str], FastAPI], sock: socket.socket | None = None
) -> AsyncIterator[str]:
    """The app ``make_app(base_url)`` over real HTTP on a free port, in this event loop (so it
    may call in-process services that live in this loop); yields its base URL. The socket is
    bound first (or given, already bound), so the port is ours (no race with another process)."""
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    app = make_app(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serving_web(service_apps: Mapping[str, FastAPI]) -> AsyncIterator[str]:
    """The web and the development identity provider, each over real HTTP: the browser goes to
    the provider's own log-in page and back. The web reaches the same provider in-process (its
    issuer URL is the test issuer's, which no DNS knows), as a server reaches Keycloak by an
    internal name while browsers use its public one."""
    web_sock = free_socket()
    web_url = f"http://127.0.0.1:{web_sock.getsockname()[1]}"
    apps: dict[str, FastAPI] = {}

    def identity(url: str) -> FastAPI:
        apps["identity"] = create_identity_app(
            ISSUER, DEMO_PASSWORD, [web_client(web_url)], browser_url=f"{url}{REALM_PATH}"
        )
        return apps["identity"]

    async with (
        serving(identity),
        serving(lambda url: web_app(url, service_apps, apps["identity"]), web_sock) as url,
    ):
        yield url


def web_app(public_url: str, service_apps: Mapping[str, FastAPI], identity: FastAPI | None = None) -> FastAPI:
    """The web, calling the in-process services over ASGI and signing in at a development
    identity provider that issues the test issuer's tokens (in-process unless given)."""
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=app) for name, app in service_apps.items()
    }
    services = {
        name: f"http://{name}"
        for name in ("intake", "processing", "postal", "scoring", "payments")
        if name in service_apps or name != "payments"
    }
    if identity is None:
        return web_with_identity(transports, DEMO_PASSWORD, public_url=public_url, services=services)
    transports["identity"] = httpx.ASGITransport(app=identity)
    return create_web_app(web_config(public_url, services), verifier_from_env(), transports)
