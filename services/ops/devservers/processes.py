"""Processes of the development servers: telling ours from a reused pid, finding what a killed
owner left running, stopping it, and keeping signals from cutting a stop in half (psutil)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

import psutil

LOG_ROTATE_BYTES = 20 * 1024 * 1024


def started_at(pid: int | None) -> float | None:
    """The process's start time: with its pid, it names one process even after the pid is reused."""
    if pid is None:
        return None
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def alive(pid: int, start: object = None) -> bool:
    """Whether ``pid`` runs and is not a zombie; with ``start`` (from ``started_at``), whether it is
    still that same process."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        # a start recorded in another format names no process we can check: trust the pid
        return not isinstance(start, float) or abs(process.create_time() - start) < 0.01
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def cmdline(pid: int) -> list[str]:
    try:
        return [str(part) for part in psutil.Process(pid).cmdline()]
    except psutil.Error:
        return []


def running(match: Callable[[list[str]], bool]) -> list[int]:
    """The pids of live processes (not this one) whose command line ``match`` accepts."""
    found: list[int] = []
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if process.pid != os.getpid() and command and match(command) and alive(process.pid):
            found.append(process.pid)
    return found


def argument_after(command: Sequence[str], flag: str) -> Path | None:
    """The path following ``flag`` (``-c``, ``-D``) on a command line."""
    if flag in command[:-1]:
        return Path(command[list(command).index(flag) + 1])
    return None


def stop(pid: int, signals: Sequence[signal.Signals], *, timeout: float) -> bool:
    """Each signal in turn, waiting up to ``timeout`` seconds after each; True once ``pid`` is gone.
    A zombie counts as gone (its parent reaps it), which ``psutil.wait_procs`` would wait for."""
    for signum in signals:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not alive(pid):
            return True
    return False


class TerminationHandler:
    """SIGTERM/SIGHUP would kill Python without running atexit: turn them into SystemExit.

    Only installed from the main thread and only where the default action is in place.
    """

    _installed: ClassVar[dict[int, Any]] = {}
    _users: ClassVar[int] = 0

    @staticmethod
    def _handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    @classmethod
    def install(cls) -> None:
        cls._users += 1
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signum not in cls._installed and signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, cls._handler)
                cls._installed[signum] = signal.SIG_DFL

    @classmethod
    def uninstall(cls) -> None:
        cls._users = max(0, cls._users - 1)
        if cls._users or threading.current_thread() is not threading.main_thread():
            return
        for signum, previous in list(cls._installed.items()):
            if signal.getsignal(signum) == cls._handler:
                signal.signal(signum, previous)
            del cls._installed[signum]


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ignore Ctrl-C/SIGTERM while stopping servers, so a second Ctrl-C cannot leave them half-stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def rotate(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))


def tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])
