"""Every service serves the AsyncAPI document beside its OpenAPI (``/asyncapi.json``, ``/docs``)."""

from __future__ import annotations

from shared.eventlog.asyncapi import asyncapi_document
from shared.host.settings import Settings
from tests.system import running_system
from tests.unit.test_asyncapi import published_contracts


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
