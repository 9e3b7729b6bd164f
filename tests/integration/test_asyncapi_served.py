"""Every service serves the AsyncAPI document beside its OpenAPI (``/asyncapi.json``, ``/docs``),
and its documentation pages work without Internet: every file they load comes from the service."""

from __future__ import annotations

import re

import httpx

from shared.eventlog.asyncapi import asyncapi_document
from shared.host.settings import Settings
from tests.system import running_system
from tests.unit.test_asyncapi import published_contracts

# src="…", href="…", url: '…' and url: "…" — every address a page asks the browser to load
_LOADED = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


async def _offline_page(client: httpx.AsyncClient, path: str) -> list[str]:
    """The addresses page ``path`` loads; fails if any is on another host or does not answer."""
    page = await client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
    assert "cdn." not in page.text and "fonts.googleapis" not in page.text, path
    loaded = [a or b for a, b in _LOADED.findall(page.text)]
    assert loaded, path
    for address in loaded:
        assert address.startswith("/") and not address.startswith("//"), (path, address)
        answer = await client.get(address)
        assert answer.status_code == 200, (path, address, answer.status_code)
        assert answer.content, (path, address)
    return loaded


async def test_each_service_serves_the_asyncapi_document(database_url: str, nats_url: str) -> None:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as system:
        for name, client in system.clients.items():
            response = await client.get("/asyncapi.json")
            assert response.status_code == 200, (name, response.text)
            doc = response.json()
            assert doc == asyncapi_document(), name
            names = {m["name"] for m in doc["components"]["messages"].values()}
            assert set(published_contracts()) <= names, name
            openapi = (await client.get("/openapi.json")).json()
            assert "/asyncapi.json" in openapi["info"]["description"], name

            # /docs and /redoc: no other host, each file answers from the service (no token)
            anonymous = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
            async with anonymous:
                swagger = await _offline_page(anonymous, "/docs")
                assert {
                    "/docs-assets/swagger-ui-bundle.js",
                    "/docs-assets/swagger-ui.css",
                    "/openapi.json",
                } <= set(swagger), (name, swagger)
                redoc = await _offline_page(anonymous, "/redoc")
                assert "/docs-assets/redoc.standalone.js" in redoc, (name, redoc)
                assert (await anonymous.get("/docs/oauth2-redirect")).status_code == 200, name
