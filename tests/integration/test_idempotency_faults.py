"""An idempotency key never stays stuck: a failure between any two steps of a save, or intake
killed with SIGKILL in the middle of one, and the retry with the same key returns the stored
dossier or stores it once (real PostgreSQL; the kill is of a real intake process)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.intake.catalogue import load_catalogue
from services.intake.group_commit import STEPS, GroupCommitter
from shared.host.settings import Settings
from tests.identity import auth
from tests.system import NATS_PASSWORDS, System, declare_as_ops, receive_body, running_system

ROOT = Path(__file__).resolve().parents[2]
DESK = auth("tiepnhan")


@pytest.fixture
async def system(database_url: str, nats_url: str) -> Any:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url), ("intake",)) as s:
        yield s


def _procedure() -> str:
    return next(p.code for p in load_catalogue().procedures if 1 in {int(c) for c in p.channels})


async def _dossiers(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        # dossiers only: the catalogue's entries (recorded at intake's start) share the table
        first_events = (
            "SELECT count(*) FROM intake.intake_events"
            " WHERE originator_version = 1 AND topic NOT LIKE '%CatalogueEntry%'"
        )
        return int(await conn.fetchval(first_events))
    finally:
        await conn.close()


def _fail_once(committer: GroupCommitter, at: str) -> list[str]:
    seen: list[str] = []

    def fault(step: str) -> None:
        seen.append(step)
        if step == at and seen.count(step) == 1:
            raise ConnectionResetError(f"injected failure at {step}")

    committer.fault = fault
    return seen


async def test_a_failure_between_any_two_steps_of_a_save_never_sticks_the_key(
    system: System, database_url: str
) -> None:
    committer: GroupCommitter = system.apps["intake"].state.committer
    body = receive_body(_procedure())
    codes: dict[str, str] = {}
    for step in STEPS:
        key = f"fault-{step}"
        seen = _fail_once(committer, step)
        first = await system.intake.post("/dossiers", json=body, headers={"Idempotency-Key": key})
        assert first.status_code >= 500, first.text  # the injected failure reached the client
        assert step in seen
        retry = await system.intake.post("/dossiers", json=body, headers={"Idempotency-Key": key})
        # after the dossiers committed the retry finds it; before, the retry stores it
        assert retry.status_code == (200 if step == "saved" else 201), (step, retry.text)
        codes[key] = retry.json()["code"]
        again = await system.intake.post("/dossiers", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 200 and again.json()["code"] == codes[key]
    committer.fault = None
    assert len(set(codes.values())) == len(STEPS)
    assert await _dossiers(database_url) == len(STEPS)  # one dossier per key, none doubled


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_intake(database_url: str, nats_url: str, port: int) -> subprocess.Popen[bytes]:
    from services.ops.launcher import start_service, wait_healthy
    from shared.eventlog.nats_users import strip_credentials

    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url, "INTAKE_KEY_LEASE_S": "1"}
    if "intake" in NATS_PASSWORDS:
        env.update(
            NATS_URL=strip_credentials(nats_url), NATS_USER="intake", NATS_PASSWORD=NATS_PASSWORDS["intake"]
        )
    process = start_service("intake", env, port)
    try:
        wait_healthy("intake", process, url=f"http://127.0.0.1:{port}/health")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


async def _until(probe: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := await probe()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
    return value


async def test_intake_killed_mid_save_then_the_retry_stores_the_dossier_once(
    database_url: str, nats_url: str
) -> None:
    await declare_as_ops(Settings(nats_url=nats_url, database_url=database_url))
    port = _free_port()
    intake = _start_intake(database_url, nats_url, port)
    body = receive_body(_procedure())
    headers = {**DESK, "Idempotency-Key": "killed-mid-save"}
    blocker = await asyncpg.connect(database_url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            # Hold the events table as another writer would: the save waits after its claim
            # (with the dossier's code) committed, and intake is killed right there.
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute("LOCK TABLE intake.intake_events IN EXCLUSIVE MODE")
            pending = asyncio.ensure_future(client.post("/dossiers", json=body, headers=headers))
            claimed = await _until(
                lambda: blocker.fetchval(
                    "SELECT dossier_code FROM intake.idempotency_keys WHERE key = 'killed-mid-save'"
                )
            )
            intake.send_signal(signal.SIGKILL)
            intake.wait()
            with pytest.raises(httpx.TransportError):
                await pending
            await lock.rollback()
        assert await _dossiers(database_url) == 0  # nothing stored: the kill came mid-save

        intake = _start_intake(database_url, nats_url, port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            answers = []
            while True:  # a claim younger than its lease may still be saving: 409, retry after
                retry = await client.post("/dossiers", json=body, headers=headers)
                answers.append(retry.status_code)
                if retry.status_code != 409:
                    break
                assert retry.json()["error"]["code"] == "request_in_progress"
                assert len(answers) < 20, answers
                await asyncio.sleep(float(retry.headers["Retry-After"]) / 4)
            assert retry.status_code == 201, retry.text
            assert retry.json()["code"] == claimed  # the claim's own number, no gap, no second one
            again = await client.post("/dossiers", json=body, headers=headers)
            assert again.status_code == 200 and again.json()["code"] == claimed
        assert await _dossiers(database_url) == 1
    finally:
        await blocker.close()
        if intake.poll() is None:
            intake.send_signal(signal.SIGTERM)
            try:
                intake.wait(timeout=15)
            except subprocess.TimeoutExpired:
                intake.kill()
                intake.wait()
