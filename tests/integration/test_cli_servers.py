"""``motcua`` beside ``make run``: the URLs come from ``.data/servers.json``; replay shows progress."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from services.ops.cli import app as cli
from shared.host.settings import Settings
from tests.system import eventually, receive_body, running_system


async def _cli(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


def _recorded_servers(data_dir: Path, nats_url: str, database_url: str) -> int:
    """What ``make run`` leaves: servers.json, and the folder's lock held while it runs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    state = {"running": True, "nats": {"url": nats_url}, "postgres": {"url": database_url}}
    (data_dir / "servers.json").write_text(json.dumps(state))
    fd = os.open(data_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


async def test_cli_finds_make_runs_servers_and_replay_reports_progress(
    database_url: str, nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_system(Settings(nats_url=nats_url, database_url=database_url)) as system:
        for _ in range(3):
            assert (await system.intake.post("/dossiers", json=receive_body("LLTP"))).status_code == 201
        await eventually(
            lambda: system.scoring.get("/national-status"),
            lambda r: sum(s["dossiers"] for s in r.json()["statuses"]) == 3,
        )
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.delenv("NATS_URL", raising=False)
        data_dir = tmp_path / ".data"

        missing = await _cli("--data-dir", str(data_dir), "replay", "scoring")
        assert missing.exit_code == 2 and "make run" in missing.output, missing.output

        fd = _recorded_servers(data_dir, nats_url, database_url)
        try:
            replayed = await _cli("--data-dir", str(data_dir), "replay", "scoring")
            lag = await _cli("--data-dir", str(data_dir), "lag")
        finally:
            os.close(fd)
        assert replayed.exit_code == 0, replayed.output
        out = replayed.output.replace("\n", " ")
        # Not a terminal: plain lines with the counts, the rate and the time left, no spinner.
        read = re.search(r"reading the event stores: ([\d,]+)/([\d,]+) events \(100 %\)", out)
        assert read and read.group(1) == read.group(2) and int(read.group(1).replace(",", "")) > 0, out
        assert re.search(r"folding dossiers: 3/3 dossiers \(100 %\), [\d,]+ dossiers/s", out), out
        assert "s left" in out and "rebuilt" in out
        assert lag.exit_code == 0 and "scoring" in lag.output, lag.output

        stale = await _cli("--data-dir", str(data_dir), "lag")  # make run has stopped: lock released
        assert stale.exit_code == 2 and "NATS_URL" in stale.output, stale.output
