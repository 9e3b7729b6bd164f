"""Real NATS (JetStream) and PostgreSQL for ``make run``, ``make test``, the bench and the fault
suite, started from pip packages (``nats.py``, ``postgres.py``; as root, ``os_user.py``).

Layout of a data folder (default ``.data/`` in the repository)::

    servers.json   ports, URLs, pids, owner pid (read by ``down`` and by the next start)
    .lock          held (flock) by the process that owns the running servers
    pg/            PGDATA (or a symlink to it when PostgreSQL's OS user cannot reach the folder)
    pg.log         PostgreSQL's log (and pg_ctl's messages)
    nats/          nats.conf, nats.log, and the JetStream store (nats/jetstream/)
    dev-secrets.json  generated passwords of the NATS users (``shared/host/dev_secrets.py``)

``RunningServers.nats_url`` carries the ``ops`` credentials (for the CLI, the tests and declaring
the topology); services connect with their own user (``RunningServers.nats_credentials``).

A later start on the same folder reuses the data, and the recorded ports when they are free.
If the previous owner died without stopping its servers (SIGKILL), they are found through
``servers.json``, ``postmaster.pid`` and the processes' command lines, and stopped first.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import logging
import os
import shlex
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.ops.devservers import nats as nats_server
from services.ops.devservers.folder import (
    LOCK_FILE,
    STATE_FILE,
    DirLock,
    ServersError,
    is_owned,
    pick_ports,
    read_state,
    write_state,
)
from services.ops.devservers.nats import NatsProcess, nats_passwords, with_ops_credentials
from services.ops.devservers.os_user import delete_run_dir, mkdir
from services.ops.devservers.postgres import Postgres, start_postgres_server, stop_orphan
from services.ops.devservers.processes import TerminationHandler, alive, signals_deferred
from shared.eventlog.nats_users import strip_credentials
from shared.host.dev_secrets import FILE_NAME as DEV_SECRETS_FILE

log = logging.getLogger("motcua.devservers")

FRESH_PREFIX = "fresh-"
STOP_TIMEOUT = 30.0


@dataclass
class RunningServers:
    """URLs of a running NATS and PostgreSQL; ``stop()`` stops what this process started."""

    nats_url: str
    database_url: str
    data_dir: Path | None = None
    nats_monitor_url: str | None = None
    # Per NATS user, its password; empty for a NATS from the environment (its users are not ours).
    nats_passwords: dict[str, str] = field(default_factory=dict)
    _session: Session | None = field(default=None, repr=False, compare=False)

    def faults(self) -> Session:
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
        if self._session is not None:
            self._session.stop()

    def __enter__(self) -> RunningServers:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_servers(data_dir: Path, *, fresh: bool = False) -> RunningServers:
    """Start NATS (JetStream) and PostgreSQL with their data under ``data_dir``; wait until both answer.

    ``fresh=True`` uses a new ``fresh-*`` folder under ``data_dir``, deleted by ``stop()``.
    """
    return _start(data_dir, fresh=fresh, want_nats=True, want_postgres=True)


def start_postgres(data_dir: Path, *, fresh: bool = False) -> RunningServers:
    """PostgreSQL alone, under ``data_dir`` (e.g. a test's own, which it may stop and restart)."""
    return _start(data_dir, fresh=fresh, want_nats=False, want_postgres=True)


def servers_from_env_or_start(data_dir: Path, *, fresh: bool = False) -> RunningServers:
    """Use ``NATS_URL``/``DATABASE_URL`` when set; start whichever is missing under ``data_dir``.

    With both set nothing is started and ``stop()`` does nothing.
    """
    nats_url = os.environ.get("NATS_URL") or None
    database_url = os.environ.get("DATABASE_URL") or None
    if nats_url and database_url:
        return RunningServers(nats_url=nats_url, database_url=database_url)
    started = _start(data_dir, fresh=fresh, want_nats=nats_url is None, want_postgres=database_url is None)
    if nats_url:
        return dataclasses.replace(started, nats_url=nats_url, nats_passwords={})
    return dataclasses.replace(started, database_url=database_url or started.database_url)


def stop_recorded_servers(data_dir: Path, *, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the servers recorded in ``data_dir/servers.json`` (what ``... devservers down`` does).

    If the owning process is alive it gets SIGTERM and is given ``timeout`` seconds to stop its
    servers itself; leftovers are then stopped directly. Returns False if nothing was running.
    """
    run_dir = data_dir.expanduser().resolve()
    if not (run_dir / STATE_FILE).exists():
        return False
    lock = DirLock(run_dir)
    did_something = False
    if not lock.try_acquire():
        owner = read_state(run_dir).get("owner") or {}
        pid = owner.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and alive(pid, owner.get("start")):
            log.info("asking the owner (pid %s) to stop its servers", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            did_something = True
        if not lock.acquire(timeout=timeout):
            log.warning("the owner did not stop within %.0f s; stopping its servers directly", timeout)
    try:
        did_something = _stop_orphans(run_dir) or did_something
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
    if not (run_dir / STATE_FILE).exists() or not is_owned(run_dir):
        return None
    state = read_state(run_dir)
    nats_url = (state.get("nats") or {}).get("url")
    database_url = (state.get("postgres") or {}).get("url")
    if not isinstance(nats_url, str) or not isinstance(database_url, str):
        return None
    if (run_dir / DEV_SECRETS_FILE).exists():
        nats_url = with_ops_credentials(nats_url, nats_passwords(run_dir))
    return nats_url, database_url


def remove_data(data_dir: Path) -> None:
    """Delete a (stopped) data folder, including PGDATA relocated outside it (``os_user.py``)."""
    run_dir = data_dir.expanduser().resolve()
    if not run_dir.exists():
        return
    lock = DirLock(run_dir)
    if not lock.try_acquire():
        raise ServersError(f"servers are running on {run_dir}; stop them first (`down`)")
    try:
        _stop_orphans(run_dir)
        for fresh in run_dir.glob(f"{FRESH_PREFIX}*"):
            delete_run_dir(fresh)
        delete_run_dir(run_dir)
    finally:
        lock.release()


def _start(data_dir: Path, *, fresh: bool, want_nats: bool, want_postgres: bool) -> RunningServers:
    began = time.monotonic()
    base = data_dir.expanduser().resolve()
    mkdir(base)
    if fresh:
        _reap_stale_fresh(base)
        run_dir = Path(tempfile.mkdtemp(prefix=FRESH_PREFIX, dir=base))
        run_dir.chmod(0o755)
    else:
        run_dir = base
    lock = DirLock(run_dir)
    if not lock.try_acquire():
        state = read_state(run_dir)
        owner = (state.get("owner") or {}).get("pid")
        nats_url = (state.get("nats") or {}).get("url")
        database_url = (state.get("postgres") or {}).get("url")
        raise ServersError(
            f"servers on {run_dir} are already running, owned by pid {owner}: "
            f"NATS_URL={nats_url} DATABASE_URL={database_url}. "
            f"Use them through the environment, or stop them: python -m services.ops.devservers down "
            f"--data-dir {shlex.quote(str(base))}"
        )

    nats: NatsProcess | None = None
    postgres: Postgres | None = None
    try:
        previous = read_state(run_dir)
        _stop_orphans(run_dir)
        before = {name: previous.get(name) or {} for name in ("nats", "postgres")}
        pg_port, nats_port, monitor_port = pick_ports(
            [
                before["postgres"].get("port") if want_postgres else None,
                before["nats"].get("port") if want_nats else None,
                before["nats"].get("monitor_port") if want_nats else None,
            ]
        )
        if want_nats:  # nats-server comes up while initdb runs
            nats = nats_server.launch_nats(run_dir, nats_port, monitor_port)
        if want_postgres:
            postgres = start_postgres_server(base, run_dir, pg_port, fresh=fresh)
        if nats is not None:
            nats = nats_server.ready(nats, run_dir, began)
        _record(run_dir, nats, postgres, running=True)
    except BaseException:
        with signals_deferred():
            if nats is not None:
                nats.stop()
            _stop_orphans(
                run_dir
            )  # whatever got started (a retried nats-server, a postmaster before we knew its pid)
            lock.release()
            if fresh:
                delete_run_dir(run_dir)
        raise

    log.info(
        "servers ready in %.2f s (%s)%s",
        time.monotonic() - began,
        ", ".join(x for x in (nats and nats.url, postgres and postgres.url) if x),
        " [fresh]" if fresh else "",
    )
    session = Session(run_dir, lock, nats, postgres, fresh=fresh)
    passwords = nats_passwords(run_dir) if nats else {}
    return RunningServers(
        nats_url=with_ops_credentials(nats.url, passwords) if nats else "",
        database_url=postgres.url if postgres else "",
        data_dir=run_dir,
        nats_monitor_url=nats.monitor_url if nats else None,
        nats_passwords=passwords,
        _session=session,
    )


def _record(run_dir: Path, nats: NatsProcess | None, postgres: Postgres | None, *, running: bool) -> None:
    write_state(
        run_dir,
        nats.record(running=running) if nats else None,
        postgres.record(running=running) if postgres else None,
        running=running,
    )


class Session:
    """What one start owns; ``stop`` is idempotent, thread-safe and registered with atexit.

    The fault suite (tests/faults) kills and restarts the servers through it, on the same ports.
    """

    def __init__(
        self,
        run_dir: Path,
        lock: DirLock,
        nats: NatsProcess | None,
        postgres: Postgres | None,
        *,
        fresh: bool,
    ) -> None:
        self.run_dir, self.lock, self.nats, self.postgres, self.fresh = run_dir, lock, nats, postgres, fresh
        self.owner_pid = os.getpid()
        self._mutex = threading.Lock()
        self._stopped = False
        atexit.register(self.stop)
        TerminationHandler.install()

    def kill_nats(self) -> None:
        """SIGKILL to nats-server: no chance to flush or to say goodbye to its clients."""
        if self.nats is not None:
            self.nats.kill()

    def start_nats(self, *, wipe_store: bool = False) -> None:
        """Starts nats-server again (after ``kill_nats``); ``wipe_store`` deletes JetStream's
        store first: every stream, message and consumer is gone, as on a lost volume."""
        if self.nats is None:
            raise ServersError("NATS was not started here")
        if wipe_store:
            nats_server.wipe_store(self.run_dir)
        began = time.monotonic()
        launched = nats_server.launch_nats(self.run_dir, self.nats.port, self.nats.monitor_port)
        self.nats = nats_server.ready(launched, self.run_dir, began)
        _record(self.run_dir, self.nats, self.postgres, running=True)

    def stop_postgres(self) -> None:
        """``pg_ctl stop -m fast``: every connection is cut, as in a restart for maintenance."""
        if self.postgres is not None:
            with self._mutex:
                self.postgres.stop()

    def start_postgres(self) -> None:
        if self.postgres is None:
            raise ServersError("PostgreSQL was not started here")
        with self._mutex:
            self.postgres.pg_ctl_start()
            _record(self.run_dir, self.nats, self.postgres, running=True)

    def stop(self) -> None:
        with self._mutex:
            if self._stopped or os.getpid() != self.owner_pid:  # a forked child owns nothing
                return
            self._stopped = True
            atexit.unregister(self.stop)
            began = time.monotonic()
            with signals_deferred():
                errors: list[str] = []
                if self.nats is not None:
                    self.nats.stop()
                if self.postgres is not None and not self.postgres.stop():
                    errors.append(f"PostgreSQL did not stop cleanly; see {self.postgres.log}")
                if self.fresh:
                    delete_run_dir(self.run_dir)
                else:
                    with contextlib.suppress(OSError):
                        _record(self.run_dir, self.nats, self.postgres, running=False)
                self.lock.release()
                TerminationHandler.uninstall()
            log.info("servers stopped in %.2f s", time.monotonic() - began)
            if errors:
                raise ServersError("; ".join(errors))


def _stop_orphans(run_dir: Path) -> bool:
    """Stop servers left running on ``run_dir`` by an owner that died. Caller holds the lock."""
    stopped = nats_server.stop_orphans(run_dir)
    recorded: dict[str, Any] = read_state(run_dir).get("postgres") or {}
    return stop_orphan(run_dir, recorded) or stopped


def _reap_stale_fresh(base: Path) -> None:
    """Delete ``fresh-*`` folders whose owner died without stopping (their lock is free)."""
    for run_dir in base.glob(f"{FRESH_PREFIX}*"):
        if not run_dir.is_dir():
            continue
        if not (run_dir / LOCK_FILE).exists():
            with contextlib.suppress(OSError):  # being created right now, or a crash before locking
                if time.time() - run_dir.stat().st_mtime > 600:
                    delete_run_dir(run_dir)
            continue
        lock = DirLock(run_dir)
        try:
            if not lock.try_acquire():
                continue
        except OSError:
            continue
        try:
            log.info("removing %s left by a process that did not stop its servers", run_dir)
            _stop_orphans(run_dir)
            delete_run_dir(run_dir)
        finally:
            lock.release()
