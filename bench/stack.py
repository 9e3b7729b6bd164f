"""The system under test: fresh NATS + PostgreSQL and the four services as real processes.

Services start exactly as the launcher starts them (one uvicorn process each), on free ports,
so the load generator never shares their event loop and their memory can be measured alone.
They verify bearer tokens as in production, against the development issuer of the bench's data
folder; its keys are read from a JWKS file (``file://``), so no identity process runs beside them.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.identity import identity_env, issuer_in
from services.ops.devservers import RunningServers, servers_from_env_or_start
from services.ops.launcher import declare_as_ops, development_env, service_env
from shared.auth.dev_issuer import DevIssuer, demo_user
from shared.host.dev_secrets import development_secrets

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "processing", "postal", "scoring")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    servers: RunningServers
    ports: dict[str, int]
    env: dict[str, str]
    issuer: DevIssuer
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def database_url(self) -> str:
        return self.servers.database_url

    @property
    def nats_url(self) -> str:
        return self.servers.nats_url

    def token(self, username: str) -> str:
        """A demo user's access token (8 h, as a working day's session)."""
        return self.issuer.token_for(demo_user(username))

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def start(self, name: str) -> None:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            f"services.{name}.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.ports[name]),
            "--log-level",
            "warning",
        ]
        log = open(ROOT / "bench" / "results" / f".{name}.log", "ab")  # noqa: SIM115 - child keeps it
        env = service_env(name, self.env, self.servers)  # each service as its own NATS user
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own interpreter
            command, cwd=ROOT, env=env, stdout=log, stderr=log
        )
        wait_healthy(self.url(name), self.processes[name])

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items() if p.poll() is None}


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy within {timeout}s")


@contextlib.contextmanager
def running_stack(data_dir: Path) -> Iterator[Stack]:
    """Fresh servers (or NATS_URL / DATABASE_URL) and all four services; everything stopped after."""
    servers = servers_from_env_or_start(data_dir, fresh=True)
    ports = {name: free_port() for name in SERVICES}
    issuer, jwks = issuer_in(data_dir / "identity")
    env = {
        **development_env(servers, data_dir),
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **identity_env(issuer, jwks),
    }
    env.update(development_secrets(data_dir, env))
    stack = Stack(servers=servers, ports=ports, env=env, issuer=issuer)
    try:
        declare_as_ops(servers.nats_url)
        for name in SERVICES:
            stack.start(name)
        yield stack
    finally:
        for name in list(stack.processes):
            stack.stop(name)
        servers.stop()
