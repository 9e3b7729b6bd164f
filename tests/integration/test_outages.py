"""PostgreSQL restarted under a small load: no request answers 500; while it is down, requests
answer 503 with ``Retry-After`` and ``/health`` says which dependency is down; once it is back
every service works again without being restarted (their pools reconnect).

The PostgreSQL here is the test's own (stopped and started by it), so no other test is affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from services.ops.devservers import RunningServers
from shared.eventlog.topology import consumers_of
from shared.host.settings import Settings
from tests.faults.proxy import Proxy
from tests.system import System, eventually, receive_body, running_system

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "processing", "postal", "scoring")


@pytest.fixture
def own_postgres() -> Any:
    from services.ops.devservers import start_postgres

    running = start_postgres(ROOT / ".data" / "test", fresh=True)
    yield running
    running.stop()


@pytest.fixture
async def system(own_postgres: RunningServers, nats_url: str) -> AsyncIterator[System]:
    settings = Settings(nats_url=nats_url, database_url=own_postgres.database_url)
    async with running_system(settings, SERVICES) as s:
        yield s


KEYS = itertools.count()


def _requests(system: System, code: str) -> list[Callable[[], Awaitable[httpx.Response]]]:
    """One read or write per service, as desks, officers and auditors make them."""
    return [
        lambda: system.intake.post(
            "/dossiers", json=receive_body("LLTP"), headers={"Idempotency-Key": f"load-{next(KEYS)}"}
        ),
        lambda: system.intake.get(f"/dossiers/{code}"),
        lambda code=code: system.processing.get(f"/dossiers/{code}"),
        lambda: system.postal.get(f"/dossiers/{code}/shipments"),
        lambda: system.scoring.get("/figures", params={"period": "year"}),
    ]


async def _load(
    requests: list[Callable[[], Awaitable[httpx.Response]]], stop: asyncio.Event, seen: list[Any]
) -> None:
    while not stop.is_set():
        for send in requests:
            try:
                seen.append(await send())
            except Exception as exc:  # an exception out of the app is a failure too
                seen.append(exc)
        await asyncio.sleep(0.02)


async def _health(system: System) -> dict[str, str]:
    out = {}
    for name in SERVICES:
        response = await system.clients[name].get("/health")
        body = response.json()
        assert response.status_code == (503 if body["status"] == "down" else 200)
        out[name] = f"{body['status']}/pg:{body['dependencies']['postgres']['status']}"
    return out


async def test_postgres_restart_under_load_answers_503_never_500_and_heals(
    system: System, own_postgres: RunningServers
) -> None:
    made = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    await eventually(lambda: system.scoring.get(f"/dossiers/{code}"), lambda r: r.status_code == 200)
    assert set((await _health(system)).values()) == {"up/pg:up"}

    seen: list[Any] = []
    stop = asyncio.Event()
    # one loop per kind of request: a write that waits out the outage (the event store's own
    # pool waits for a connection) must not hold back the reads that meet it meanwhile
    load = [asyncio.create_task(_load([send], stop, seen)) for send in _requests(system, code)]
    try:
        await asyncio.sleep(0.5)
        restart = asyncio.create_task(asyncio.to_thread(own_postgres.restart_postgres, 3.0))
        # while it is down: /health names PostgreSQL as down on every service
        down = await eventually(
            lambda: _health(system), lambda h: set(h.values()) == {"down/pg:down"}, timeout=15
        )
        assert down
        await restart
        await asyncio.sleep(2.0)  # the load goes on while the services reconnect
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.gather(*load)

    raised = [s for s in seen if isinstance(s, Exception)]
    assert not raised, raised[:3]
    statuses = Counter(r.status_code for r in seen)
    assert statuses[503] > 0, statuses  # the outage was met
    assert all(s < 500 or s == 503 for s in statuses), statuses
    for r in seen:
        if r.status_code == 503:
            assert r.headers.get("Retry-After"), r.text
            error = r.json()["error"]
            assert error["code"] == "dependency_unavailable" and error["dependency"] == "postgres", r.text
            assert error["message"]["vi"] and error["message"]["en"]
        else:
            assert r.status_code in (200, 201), (r.status_code, r.text)

    # Back without restarting any service: health up, writes and reads work, events flow again.
    await eventually(lambda: _health(system), lambda h: set(h.values()) == {"up/pg:up"}, timeout=20)
    deadline = time.monotonic() + 20
    while True:
        after = await system.intake.post(
            "/dossiers", json=receive_body("LLTP"), headers={"Idempotency-Key": "after"}
        )
        if after.status_code == 201 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert after.status_code == 201, after.text
    fresh = after.json()["code"]
    await eventually(lambda: system.processing.get(f"/dossiers/{fresh}"), lambda r: r.status_code == 200, 30)
    await eventually(lambda: system.scoring.get(f"/dossiers/{fresh}"), lambda r: r.status_code == 200, 30)
    for send in _requests(system, fresh):
        assert (await send()).status_code in (200, 201)


# --------------------------------------------------------------------------------------------
# NATS unreachable: the link between the services and the bus cut while requests arrive
# --------------------------------------------------------------------------------------------


@pytest.fixture
async def cut_system(database_url: str, nats_url: str) -> AsyncIterator[tuple[System, Proxy]]:
    """The four services reaching the suite's NATS through a proxy the test can cut (a bus that
    went away: every connection closed, new ones refused), PostgreSQL as usual."""
    port = urlparse(nats_url).port
    assert port is not None
    proxy = Proxy(port).start()
    settings = Settings(nats_url=nats_url.replace(f":{port}", f":{proxy.port}"), database_url=database_url)
    try:
        async with running_system(settings, SERVICES) as s:
            yield s, proxy
    finally:
        proxy.stop()


async def _nats_health(system: System) -> dict[str, str]:
    out = {}
    for name in SERVICES:
        response = await system.clients[name].get("/health")
        body = response.json()
        assert response.status_code == (503 if body["status"] == "down" else 200), body
        out[name] = body["dependencies"]["nats"]["status"]
    return out


def _is_nats_outage(response: httpx.Response) -> bool:
    if response.status_code != 503:
        return False
    error = response.json()["error"]
    return bool(
        response.headers.get("Retry-After")
        and error["code"] == "dependency_unavailable"
        and error["dependency"] == "nats"
        and error["message"]["vi"]
        and error["message"]["en"]
    )


async def test_nats_cut_saves_still_201_bus_routes_503_and_everything_converges(
    cut_system: tuple[System, Proxy],
) -> None:
    system, proxy = cut_system
    before = await system.intake.post("/dossiers", json=receive_body("LLTP"))
    assert before.status_code == 201, before.text
    await eventually(
        lambda: system.scoring.get(f"/dossiers/{before.json()['code']}"), lambda r: r.status_code == 200
    )
    assert set((await _nats_health(system)).values()) == {"up"}

    await asyncio.to_thread(proxy.set, "cut")
    try:
        await eventually(lambda: _nats_health(system), lambda h: set(h.values()) == {"down"}, timeout=10)
        # A registration needs PostgreSQL only: stored now, published by the relay later.
        saved = []
        for n in range(3):
            made = await system.intake.post(
                "/dossiers", json=receive_body("LLTP"), headers={"Idempotency-Key": f"cut-{n}"}
            )
            assert made.status_code == 201, made.text
            saved.append(made.json()["code"])
        assert (await system.intake.get(f"/dossiers/{saved[0]}")).status_code == 200
        assert (await system.scoring.get("/figures", params={"period": "year"})).status_code == 200
        # What only the bus can tell: the consumers' lag, and whether a dossier without a case
        # was received at the desk (a 404 would deny a dossier the desk has just stored).
        lag = await system.scoring.get("/ops/lag")
        assert _is_nats_outage(lag), (lag.status_code, lag.text)
        missing = await system.processing.get(f"/dossiers/{saved[0]}")
        assert _is_nats_outage(missing), (missing.status_code, missing.text)
        # The open case of the earlier dossier is in processing's own tables.
        assert (await system.processing.get(f"/dossiers/{before.json()['code']}")).status_code == 200
    finally:
        await asyncio.to_thread(proxy.set, "pass")

    # Convergence is what is asserted, not its speed: four hops, each back within MAX_RETRY_S of
    # the bus, and on a busy CI box one of them may well take several seconds.
    await eventually(lambda: _nats_health(system), lambda h: set(h.values()) == {"up"}, timeout=30)
    for code in saved:
        await eventually(
            lambda code=code: system.processing.get(f"/dossiers/{code}"), lambda r: r.status_code == 200, 30
        )
        await eventually(
            lambda code=code: system.scoring.get(f"/dossiers/{code}"), lambda r: r.status_code == 200, 30
        )
    # Only the consumers of the services running here: payments' and notify's are read by nobody.
    running = {spec.durable for name in system.apps for spec in consumers_of(name)}
    lag = await eventually(
        lambda: system.scoring.get("/ops/lag"),
        lambda r: (
            r.status_code == 200
            and not any(c.get("lag") for c in r.json()["consumers"] if c["consumer"] in running)
        ),
        30,
    )
    # scoring also reads payments, which is not running here: its store comparison is "unknown"
    store = [
        c
        for c in lag.json()["store"]["consumers"]
        if c["consumer"] in running and set(c["sources"]) <= set(system.apps)
    ]
    assert store and all(c["status"] == "ok" for c in store), lag.text
