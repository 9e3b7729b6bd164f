"""`make run`'s launcher as a newcomer uses it: real processes, real servers, Ctrl-C, run again."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from services.ops.demo import DEMO_DOSSIERS

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _files_containing(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for folder, _, files in os.walk(root, followlinks=True):  # .data/pg may link elsewhere (root)
        for name in files:
            path = Path(folder) / name
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found += [f"{path}: {n!r}" for n in needles if n in data]
    return found


def _start(data_dir: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    # a newcomer's shell: no servers and no identity provider configured
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NATS_URL", "DATABASE_URL", "MOTCUA_ENV") and not k.startswith("MOTCUA_OIDC_")
    }
    env.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    return subprocess.Popen(
        [sys.executable, "-m", "services.ops.launcher", "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_running(process: subprocess.Popen[str], timeout: float = 120.0) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            return lines
    raise AssertionError("launcher did not come up:\n" + "".join(lines[-40:]))


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def _sign_in(identity_port: int, data_dir: Path, username: str) -> dict[str, str]:
    """The password grant of the development identity provider, with the printed demo password."""
    password = json.loads((data_dir / "dev-secrets.json").read_text())["demo_password"]
    response = httpx.post(
        f"http://127.0.0.1:{identity_port}/realms/motcua/protocol/openid-connect/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


AUDITOR: dict[str, str] = {}


def _web_sign_in(web_port: int, data_dir: Path) -> None:
    """The desk officer signs in through the provider's log-in page with the printed demo
    password (authorization code flow) and lands on the desk."""
    password = json.loads((data_dir / "dev-secrets.json").read_text())["demo_password"]
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{web_port}", timeout=10) as web,
        httpx.Client(timeout=10) as browser,
    ):
        assert web.get("/").headers["location"] == "/login"
        to_provider = web.get("/login")
        assert to_provider.status_code == 303, to_provider.text
        page = browser.get(to_provider.headers["location"])
        assert page.status_code == 200 and 'for="username"' in page.text, page.text
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        assert action, page.text
        origin = urlsplit(to_provider.headers["location"])
        back = browser.post(
            f"{origin.scheme}://{origin.netloc}{html.unescape(action.group(1))}",
            data={
                **{k: html.unescape(v) for k, v in hidden.items()},
                "username": "tiepnhan",
                "password": password,
            },
        )
        assert back.status_code == 303, back.text
        signed = web.get(back.headers["location"])
        assert signed.status_code == 303 and signed.headers["location"] == "/desk", signed.text
        desk = web.get("/desk")
        assert desk.status_code == 200 and "Tiếp nhận hồ sơ" in desk.text


def _counts(port: int) -> dict[str, Any]:
    rows = httpx.get(f"http://127.0.0.1:{port}/departments", timeout=5, headers=AUDITOR).json()
    return {r["department_code"]: r for r in rows}


def _settled_counts(port: int, expected_received: int, timeout: float = 2.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    counts = _counts(port)
    while sum(c["received"] for c in counts.values()) < expected_received and time.monotonic() < deadline:
        time.sleep(0.05)
        counts = _counts(port)
    return counts


def test_make_run_serves_the_demo_and_a_second_run_counts_nothing_twice(tmp_path: Path) -> None:
    names = ("intake", "processing", "postal", "scoring", "identity", "postal_sim", "web")
    ports = {name: _free_port() for name in names}
    first = _start(tmp_path / "data", ports)
    try:
        lines = _wait_running(first)
        assert any("demo:" in line for line in lines)
        # the web's URL is the first thing printed, and a demo user signs in there
        running = lines[next(i for i, line in enumerate(lines) if "motcua is running" in line) + 1]
        assert f"http://127.0.0.1:{ports['web']}/" in running
        _web_sign_in(ports["web"], tmp_path / "data")
        assert httpx.get(f"http://127.0.0.1:{ports['scoring']}/departments").status_code == 401
        AUDITOR.update(_sign_in(ports["identity"], tmp_path / "data", "thanhtra"))
        desk = _sign_in(ports["identity"], tmp_path / "data", "tiepnhan")
        counts = _settled_counts(ports["scoring"], DEMO_DOSSIERS)
        assert sum(c["received"] for c in counts.values()) == DEMO_DOSSIERS
        # a dossier received now is in scoring within 2 seconds
        procedure = httpx.get(f"http://127.0.0.1:{ports['intake']}/procedures").json()[0]
        body = {
            "procedure_code": procedure["code"],
            "applicant": {
                "full_name": "Đỗ Thị Mai",
                "citizen_id": "079190001234",
                "address": "3 Lý Thường Kiệt, Hà Nội",
            },
            "channel": 1,
        }
        started = time.monotonic()
        made = httpx.post(f"http://127.0.0.1:{ports['intake']}/dossiers", json=body, timeout=5, headers=desk)
        assert made.status_code == 201, made.text
        code = made.json()["code"]
        scoring = f"http://127.0.0.1:{ports['scoring']}/dossiers/{code}"
        while httpx.get(scoring, headers=AUDITOR).status_code != 200:
            assert time.monotonic() - started < 2.0, "not visible in scoring within 2 s"
            time.sleep(0.02)
        before = _counts(ports["scoring"])
    finally:
        _stop(first)
    assert first.returncode in (0, -signal.SIGINT)
    # Stopped, so every page and the WAL are on disk: the citizen's CCCD and name are in no file
    # of PostgreSQL's data directory or JetStream's store.
    assert _files_containing(tmp_path / "data", [b"079190001234", "Đỗ Thị Mai".encode()]) == []

    second = _start(tmp_path / "data", ports)
    try:
        _wait_running(second)
        time.sleep(1.0)  # give any (wrongly) re-published event time to be counted
        assert _counts(ports["scoring"]) == before
    finally:
        _stop(second)
