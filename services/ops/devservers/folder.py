"""A data folder's lock and ``servers.json``, and free ports on loopback.

The lock is an flock on ``.lock``, not a lock file that exists or not: the kernel releases it when
its owner dies, however it dies, so a process killed with -9 never blocks the next start.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.ops.devservers.processes import started_at

log = logging.getLogger("motcua.devservers")

HOST = "127.0.0.1"
STATE_FILE = "servers.json"
LOCK_FILE = ".lock"


class ServersError(RuntimeError):
    """The embedded servers could not be started or stopped; the message says why and where to look."""


class DirLock:
    """An exclusive flock on ``run_dir/.lock``, held by the process owning the servers for their
    lifetime. Each instance opens its own descriptor, so two in one process exclude each other."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.try_acquire():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def is_owned(run_dir: Path) -> bool:
    """Whether a live process holds the folder's lock (its servers run)."""
    if not run_dir.exists():
        return False
    lock = DirLock(run_dir)
    if lock.try_acquire():
        lock.release()
        return False
    return True


def read_state(run_dir: Path) -> dict[str, Any]:
    try:
        state = json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(
    run_dir: Path, nats: dict[str, Any] | None, postgres: dict[str, Any] | None, *, running: bool
) -> None:
    """``servers.json``: the servers' ports and pids, and the owner's; a server not given keeps its
    previous entry without a pid (its port is wanted again by the next start)."""
    previous = read_state(run_dir)
    state: dict[str, Any] = {"running": running, "owner": None}
    if running:
        state["owner"] = {"pid": os.getpid(), "start": started_at(os.getpid())}
    for name, entry in (("nats", nats), ("postgres", postgres)):
        kept = previous.get(name)
        state[name] = entry if entry is not None else ({**kept, "pid": None} if kept else None)
    staging = run_dir / f".{STATE_FILE}.tmp"
    staging.write_text(json.dumps(state, indent=2) + "\n")
    staging.replace(run_dir / STATE_FILE)


def pick_ports(preferred: Sequence[int | None]) -> list[int]:
    """One free TCP port on 127.0.0.1 per entry: the preferred one when free, else one from the OS.

    All are held until every one is chosen, so the OS never hands out the same port twice here;
    a race with another process is caught by the servers' "address already in use" and retried.
    """
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for want in preferred:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            held.append(sock)
            if isinstance(want, int) and want not in ports:
                try:
                    sock.bind((HOST, want))
                except OSError:
                    log.info("port %s is taken; using another", want)
                else:
                    ports.append(want)
                    continue
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
    finally:
        for sock in held:
            sock.close()
    return ports
