"""The four services in one test process, each with its real lifespan, talking over real NATS.

Each app connects with its own NATS user, as in production, when the suite started the embedded
nats-server (``conftest`` fills ``NATS_PASSWORDS``); the topology is declared first as ``ops``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from shared.eventlog import declare_topology
from shared.eventlog.nats_users import connect, strip_credentials
from shared.eventlog.topology import keep_topology
from shared.host.host import ServiceHost
from shared.host.settings import Settings
from tests.identity import auth

T = TypeVar("T")

# NATS user -> password of the suite's embedded nats-server (empty with a NATS from the environment).
NATS_PASSWORDS: dict[str, str] = {}

# Each client speaks as a real user of its service (tokens from tests/identity.py); a test that
# needs another role or unit passes ``headers=auth(user)``.
DEFAULT_USERS = {
    "intake": "tiepnhan",  # front desk of the provincial centre (TTPVHCC)
    "processing": "canbo.stp",  # officer of the Department of Justice (LLTP is theirs)
    "postal": "buudien.tiepnhan",  # the centre's desk, which also watches the post
    "scoring": "kiemtra.vanhanh",  # auditor and operations
    "payments": "tiepnhan",  # the desk takes fees; officers ask for obligations with headers=auth(...)
    "notify": "kiemtra.vanhanh",
}
APPLICANT = {
    "full_name": "Trần Thị Bích Ngọc",
    "citizen_id": "001190012345",
    "phone": "0912345678",
    "address": "Số 12 Phố Huế, phường Hai Bà Trưng, Hà Nội",
}


@dataclass
class System:
    apps: dict[str, FastAPI]
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    # What tests use to reach NATS directly: the ops user (the apps' own users may do far less).
    ops_nats_url: str = ""

    def host(self, name: str) -> ServiceHost:
        host: ServiceHost = self.apps[name].state.host
        return host

    def __getattr__(self, name: str) -> httpx.AsyncClient:
        try:
            return self.clients[name]
        except KeyError:
            raise AttributeError(name) from None


def build_apps(settings: Settings, names: tuple[str, ...]) -> dict[str, FastAPI]:
    import importlib

    factories: dict[str, Callable[[Settings], FastAPI]] = {
        name: importlib.import_module(f"services.{name}.main").create_app for name in names
    }
    return {name: factories[name](as_service(settings, name)) for name in names}


def as_service(settings: Settings, name: str) -> Settings:
    """``settings`` (whose NATS URL may carry the ops user) for service ``name``'s own user."""
    if name not in NATS_PASSWORDS:
        return settings
    return dataclasses.replace(
        settings,
        nats_url=strip_credentials(settings.nats_url),
        nats_user=name,
        nats_password=NATS_PASSWORDS[name],
    )


async def declare_as_ops(settings: Settings) -> None:
    """What the launcher does before services start: services with their own users may not."""
    nc = await connect(settings.nats_url)
    try:
        await declare_topology(nc.jetstream())
    finally:
        await nc.close()


@contextlib.asynccontextmanager
async def keeping_topology(settings: Settings, interval_s: float = 0.5) -> AsyncIterator[None]:
    """The topology's owner watching, as ``motcua topology keep`` does beside ``make run``."""
    nc = await connect(settings.nats_url)
    stop = asyncio.Event()
    task = asyncio.create_task(keep_topology(nc.jetstream(), stop, interval_s=interval_s))
    try:
        yield
    finally:
        stop.set()
        await task
        await nc.close()


@contextlib.asynccontextmanager
async def running_system(
    settings: Settings,
    names: tuple[str, ...] = ("intake", "processing", "postal", "scoring"),
    *,
    keep: bool = False,
) -> AsyncIterator[System]:
    await declare_as_ops(settings)
    system = System(apps=build_apps(settings, names), ops_nats_url=settings.nats_url)
    async with contextlib.AsyncExitStack() as stack:
        if keep:
            await stack.enter_async_context(keeping_topology(settings))
        for name, app in system.apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url=f"http://{name}",
                headers=auth(DEFAULT_USERS[name]),
            )
            system.clients[name] = await stack.enter_async_context(client)
        yield system


async def eventually(
    probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], timeout: float = 10.0
) -> T:
    """Polls ``probe`` until ``until`` holds, or fails with the last value seen."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)
        value = await probe()
    return value


def receive_body(procedure_code: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "procedure_code": procedure_code,
        "applicant": APPLICANT,
        "channel": 1,
    }
    body.update(overrides)
    return body
