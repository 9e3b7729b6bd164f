"""The embedded servers: real NATS (JetStream) and PostgreSQL from the pip packages.

These tests start their own servers (not the session ones from conftest), so they also run when
``NATS_URL``/``DATABASE_URL`` point elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from services.ops.devservers import (
    RunningServers,
    ServersError,
    remove_data,
    servers_from_env_or_start,
    start_servers,
    stop_recorded_servers,
)

ROOT = Path(__file__).resolve().parents[2]
STREAM = "RUNTIME_TEST"
SUBJECT = "runtime.test.one"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data folder of its own; as root under /tmp/pytest-of-root (0700) this also exercises
    PGDATA being relocated where the unprivileged PostgreSQL user can reach it."""
    path = tmp_path / "data"
    yield path
    stop_recorded_servers(path, timeout=5)
    remove_data(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


async def _publish(url: str, msg_id: str) -> bool:
    """Publish one message with a ``Nats-Msg-Id``; True if JetStream reported it as a duplicate."""
    nc = await nats.connect(url)
    try:
        ack = await nc.jetstream().publish(SUBJECT, b"hello", headers={"Nats-Msg-Id": msg_id}, stream=STREAM)
        return bool(ack.duplicate)
    finally:
        await nc.close()


@pytest.mark.asyncio
async def test_data_survives_a_restart_on_the_same_folder(data_dir: Path) -> None:
    servers = start_servers(data_dir)
    try:
        db = await asyncpg.connect(servers.database_url)
        assert await db.fetchval("SELECT 1") == 1
        assert await db.fetchval("SHOW fsync") == "on"
        await db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        await db.execute("INSERT INTO notes VALUES (1, 'Hồ sơ đã tiếp nhận')")
        await db.close()

        nc = await nats.connect(servers.nats_url)
        await nc.jetstream().add_stream(name=STREAM, subjects=["runtime.test.>"])
        await nc.close()
        assert await _publish(servers.nats_url, "m-1") is False
        assert await _publish(servers.nats_url, "m-1") is True

        with pytest.raises(ServersError, match="already running"):
            start_servers(data_dir)
    finally:
        servers.stop()
    servers.stop()  # idempotent

    state = json.loads((data_dir / "servers.json").read_text())
    assert state["running"] is False
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await asyncpg.connect(servers.database_url, timeout=2)

    again = start_servers(data_dir)
    try:
        assert (again.nats_url, again.database_url) == (servers.nats_url, servers.database_url)
        db = await asyncpg.connect(again.database_url)
        assert await db.fetchval("SELECT body FROM notes WHERE id = 1") == "Hồ sơ đã tiếp nhận"
        await db.close()

        nc = await nats.connect(again.nats_url)
        js = nc.jetstream()
        info = await js.stream_info(STREAM)
        assert info.state.messages == 1
        message = await js.get_msg(STREAM, seq=1)
        assert message.data == b"hello"
        assert message.headers is not None and message.headers["Nats-Msg-Id"] == "m-1"
        await nc.close()
        # the duplicate window is rebuilt from the stored messages
        assert await _publish(again.nats_url, "m-1") is True
        assert await _publish(again.nats_url, "m-2") is False
    finally:
        again.stop()


@pytest.mark.asyncio
async def test_fresh_servers_are_deleted_on_stop(tmp_path: Path) -> None:
    servers = start_servers(tmp_path, fresh=True)
    try:
        assert servers.data_dir is not None
        assert servers.data_dir.parent.name == tmp_path.name
        assert servers.data_dir.name.startswith("fresh-")
        db = await asyncpg.connect(servers.database_url)
        assert await db.fetchval("SELECT current_database()") == "motcua"
        await db.close()
    finally:
        servers.stop()
    assert not servers.data_dir.exists()


def test_environment_urls_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NATS_URL", "nats://example.invalid:4222")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@example.invalid/db")
    servers = servers_from_env_or_start(tmp_path, fresh=True)
    assert servers == RunningServers("nats://example.invalid:4222", "postgresql://u@example.invalid/db")
    servers.stop()  # a no-op
    assert list(tmp_path.iterdir()) == []


@pytest.mark.asyncio
async def test_only_the_missing_server_is_started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NATS_URL", "nats://example.invalid:4222")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    servers = servers_from_env_or_start(tmp_path, fresh=True)
    try:
        assert servers.nats_url == "nats://example.invalid:4222"
        assert servers.nats_monitor_url is None
        db = await asyncpg.connect(servers.database_url)
        assert await db.fetchval("SELECT 1") == 1
        await db.close()
    finally:
        servers.stop()


def _up(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "services.ops.devservers", "up", "--data-dir", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")},
    )
    assert process.stdout is not None
    lines = [process.stdout.readline().strip() for _ in range(2)]
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert set(env) == {"NATS_URL", "DATABASE_URL"}, lines
    return process, env


def _server_pids(data_dir: Path) -> list[int]:
    state = json.loads((data_dir / "servers.json").read_text())
    return [state["nats"]["pid"], state["postgres"]["pid"]]


@pytest.mark.asyncio
async def test_cli_up_down_and_a_killed_owner(data_dir: Path) -> None:
    # `up` prints sourceable lines and blocks; `down` makes it stop its servers and exit
    process, env = _up(data_dir)
    pids = _server_pids(data_dir)
    db = await asyncpg.connect(env["DATABASE_URL"])
    await db.close()
    assert stop_recorded_servers(data_dir) is True
    assert process.wait(timeout=30) == 0
    assert not any(_alive(pid) for pid in pids)

    # an owner killed outright leaves its servers behind: the next start stops them and takes over
    process, env = _up(data_dir)
    pids = _server_pids(data_dir)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert all(_alive(pid) for pid in pids)
    servers = start_servers(data_dir)
    try:
        assert not any(_alive(pid) for pid in pids)
        db = await asyncpg.connect(servers.database_url)
        assert await db.fetchval("SELECT 1") == 1
        await db.close()
    finally:
        servers.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="PGDATA is relocated only when running as root")
def test_relocated_pgdata_of_a_deleted_data_folder_is_reaped(tmp_path: Path) -> None:
    # /tmp/pytest-of-root is 0700: the unprivileged PostgreSQL user cannot reach tmp_path
    first = tmp_path / "first"
    start_servers(first).stop()
    pgdata = Path(json.loads((first / "servers.json").read_text())["postgres"]["pgdata"])
    assert (first / "pg").is_symlink() and pgdata.exists() and not pgdata.is_relative_to(tmp_path)
    shutil.rmtree(first)  # what `make clean-data` does
    second = tmp_path / "second"
    start_servers(second, fresh=True).stop()
    assert not pgdata.parent.exists()
    assert list(second.iterdir()) == []
