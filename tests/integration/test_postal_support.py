"""Support for the postal tests (no tests here): the four services plus the operator simulator.

The simulator serves real HTTP on a free loopback port (so booking timeouts are real timeouts)
and posts its webhooks straight into the in-process postal app.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from services.intake.catalogue import load_catalogue
from services.postal_sim.app import create_app as create_sim_app
from services.postal_sim.config import SimConfig
from shared.host.settings import Settings
from tests.system import System, eventually, receive_body, running_system

QUICK = {"min_delay_s": 0.01, "max_delay_s": 0.04, "failure_share": 0.0, "duplicate_share": 0.0,
         "reorder_share": 0.0, "seed": 7}  # fmt: skip


@dataclass
class PostalWorld:
    system: System
    sim: httpx.AsyncClient
    secret: str  # the operator's webhook secret, as postal and the simulator have it

    async def bookings(self) -> list[dict[str, Any]]:
        return list((await self.sim.get("/bookings")).json())

    async def shipments(self, code: str) -> list[dict[str, Any]]:
        return list((await self.system.postal.get(f"/dossiers/{code}/shipments")).json())

    async def result_ready_by_post(self) -> str:
        """A dossier received with postal return, decided and with its result ready: its code."""
        procedure = next(p for p in load_catalogue().procedures if 1 in {int(c) for c in p.channels})
        received = await self.system.intake.post(
            "/dossiers", json=receive_body(procedure.code, postal_return=True)
        )
        assert received.status_code == 201, received.text
        code: str = received.json()["code"]
        processing = self.system.processing
        await eventually(lambda: processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
        decided = await processing.post(f"/dossiers/{code}/decision", json={"approved": True})
        assert decided.status_code == 200, decided.text
        ready = await processing.post(f"/dossiers/{code}/result-ready", json={})
        assert ready.status_code == 200, ready.text
        return code


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def postal_world(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    nats_url: str,
    booking_timeout_s: float = 2.0,
    **sim: Any,
) -> AsyncIterator[PostalWorld]:
    sock = _free_socket()
    port = sock.getsockname()[1]
    monkeypatch.setenv("POSTAL_OPERATORS", f"VNPOST=http://127.0.0.1:{port}")
    secret = secrets.token_urlsafe(32)
    monkeypatch.setenv("POSTAL_WEBHOOK_SECRETS", f"VNPOST={secret}")
    monkeypatch.setenv("POSTAL_BOOKING_TIMEOUT_S", str(booking_timeout_s))
    monkeypatch.setenv("POSTAL_BOOKING_BACKOFF_S", "0.05")
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as system:
        postal_asgi = httpx.ASGITransport(app=system.apps["postal"])
        sim_app = create_sim_app(
            SimConfig(**{**QUICK, **sim}, secret=secret, postal_url="http://postal"), postal_asgi
        )
        server = uvicorn.Server(uvicorn.Config(sim_app, log_level="warning", lifespan="on"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            for _ in range(500):  # bounded: the simulator starts in milliseconds
                if server.started:
                    break
                await asyncio.sleep(0.01)
            assert server.started, "the postal simulator did not start"
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as sim_client:
                yield PostalWorld(system, sim_client, secret)
        finally:
            server.should_exit = True
            await serving
            sock.close()
