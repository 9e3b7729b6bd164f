"""High availability on one machine, from the same pip packages: a NATS JetStream cluster and a
PostgreSQL primary with a streaming standby. What the fault suite (``tests/faults``) and the
tests use to show that the services ride through losing a node; production runs the same
engines on separate machines (docs/deploy/high-availability.md).

* ``NatsCluster``: ``n`` ``nats-server`` processes on 127.0.0.1 (free ports), routes between
  all of them, JetStream on each with ``sync_interval: always`` (a write acknowledged by a
  quorum is on disk there), the per-service users of ``shared/eventlog/nats_users.py`` with one
  set of passwords. ``kill(i)`` (SIGKILL) and ``start_node(i)`` (same ports, same store).
* ``PostgresPair``: the primary of ``start_postgres`` plus a standby made with
  ``pg_basebackup -R`` (``standby.signal``, ``primary_conninfo``) streaming from it;
  ``database_url`` names both with ``target_session_attrs=read-write``; ``stop_primary()`` and
  ``promote()`` (``pg_ctl promote``) are the fail-over.

Both stop what they started (``stop()``, idempotent, also at exit).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.ops.devservers.folder import HOST, pick_ports
from services.ops.devservers.nats import NatsProcess, launch_nats, nats_passwords, wait_healthy
from services.ops.devservers.os_user import mkdir, postmaster_pid
from services.ops.devservers.postgres import (
    PG_SUPERUSER,
    STARTUP_TIMEOUT,
    run_pg,
    stop_postgres,
    write_pg_config,
)
from services.ops.devservers.processes import alive, argument_after, running, started_at
from services.ops.devservers.servers import RunningServers, start_postgres
from shared.eventlog.nats_users import ADMIN_USER

__all__ = ["NatsCluster", "PostgresPair", "start_nats_cluster", "start_postgres_pair"]

log = logging.getLogger("motcua.devservers")

CLUSTER_NAME = "motcua"
# Beside what a process of ours started: its pid and start time. A later start stops what an
# owner killed with -9 (a test run cut short) left running, wherever its folder was.
OWNER_FILE = "ha-owner"
STANDBY_SUFFIX = "-standby"


def _claim(folder: Path) -> None:
    (folder / OWNER_FILE).write_text(f"{os.getpid()} {started_at(os.getpid())}\n")


def _owner_gone(folder: Path) -> bool:
    try:
        pid, start = (folder / OWNER_FILE).read_text().split()
        recorded = None if start == "None" else float(start)
    except (OSError, ValueError):
        return False  # not ours, or being written
    return not alive(int(pid), recorded)


def _reap_orphans() -> None:
    """SIGKILL to cluster nodes, SIGQUIT (immediate shutdown) to the primary and standby of a
    pair, whose owner died without stopping them: their configuration or data folder sits beside
    the owner file."""

    def orphan_node(command: list[str]) -> bool:
        config = argument_after(command, "-c")  # <cluster>/<node>/nats/nats.conf
        return (
            Path(command[0]).name == "nats-server"
            and config is not None
            and config.name == "nats.conf"
            and _owner_gone(config.parents[2])
        )

    def orphan_postgres(command: list[str]) -> bool:
        pgdata = argument_after(command, "-D")
        return (
            Path(command[0]).name == "postgres"
            and pgdata is not None
            and (pgdata.name == "pg" or pgdata.name.endswith(STANDBY_SUFFIX))
            and _owner_gone(pgdata.parent)
        )

    for pid in running(orphan_node):
        log.warning("stopping nats-server pid %s of a dead owner", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in running(orphan_postgres):
        log.warning("stopping PostgreSQL pid %s of a dead owner", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown; the folder is thrown away


# --------------------------------------------------------------------------------------------
# NATS
# --------------------------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    folder: Path
    port: int
    monitor_port: int
    route_port: int
    process: NatsProcess | None = None

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{HOST}:{self.monitor_port}"


@dataclass
class NatsCluster:
    """A JetStream cluster of ``len(nodes)`` nats-server processes on loopback."""

    folder: Path
    nodes: list[_Node]
    passwords: dict[str, str]
    sync_always: bool = True
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopped: bool = False

    @property
    def plain_url(self) -> str:
        """Every node, comma-separated, without credentials: a service's ``NATS_URL``."""
        return ",".join(node.url for node in self.nodes)

    @property
    def ops_url(self) -> str:
        """Every node with the ``ops`` user's credentials (declaring, the CLI, the tests)."""
        secret = self.passwords[ADMIN_USER]
        return ",".join(f"nats://{ADMIN_USER}:{secret}@{HOST}:{node.port}" for node in self.nodes)

    def credentials(self, service: str) -> dict[str, str]:
        return {"NATS_USER": service, "NATS_PASSWORD": self.passwords[service]}

    def index_of(self, server_name: str) -> int:
        return [node.name for node in self.nodes].index(server_name)

    def _cluster_block(self, node: _Node) -> str:
        routes = [f"nats-route://{HOST}:{other.route_port}" for other in self.nodes if other is not node]
        return (
            "cluster {\n"
            f"  name: {json.dumps(CLUSTER_NAME)}\n"
            f'  listen: "{HOST}:{node.route_port}"\n'
            f"  routes: {json.dumps(routes)}\n"
            "}\n"
        )

    def _launch(self, node: _Node) -> None:
        node.process = launch_nats(
            node.folder,
            node.port,
            node.monitor_port,
            sync_always=self.sync_always,
            server_name=node.name,
            cluster=self._cluster_block(node),
            passwords=self.passwords,
        )

    def _wait(self, nodes: list[_Node], timeout: float = STARTUP_TIMEOUT) -> None:
        """``/healthz`` of each node: JetStream up, in contact with the meta leader, streams current."""
        deadline = time.monotonic() + timeout
        for node in nodes:
            assert node.process is not None
            wait_healthy(node.process, max(0.0, deadline - time.monotonic()))

    def start(self) -> NatsCluster:
        began = time.monotonic()
        for node in self.nodes:
            self._launch(node)
        self._wait(self.nodes)
        log.info(
            "NATS cluster of %d ready in %.2f s: %s",
            len(self.nodes),
            time.monotonic() - began,
            self.plain_url,
        )
        return self

    def kill(self, index: int) -> None:
        """SIGKILL to one node: no goodbye to its clients, nothing flushed that was not yet."""
        process = self.nodes[index].process
        if process is not None:
            process.kill()

    def start_node(self, index: int, *, wait: bool = True) -> None:
        """The node again, on its ports and with its store; it catches up from the others."""
        node = self.nodes[index]
        if node.process is not None and node.process.process.poll() is None:
            return
        self._launch(node)
        if wait:
            self._wait([node])

    def stop(self) -> None:
        with self._mutex:
            if self._stopped:
                return
            self._stopped = True
            atexit.unregister(self.stop)
            for node in self.nodes:
                if node.process is not None:
                    node.process.stop()


def start_nats_cluster(folder: Path, *, nodes: int = 3, sync_always: bool = True) -> NatsCluster:
    """``nodes`` nats-servers under ``folder`` (one sub-folder each), ports chosen free."""
    folder = folder.expanduser().resolve()
    _reap_orphans()
    mkdir(folder)
    _claim(folder)
    ports = pick_ports([None] * (3 * nodes))
    members = [
        _Node(f"n{i + 1}", folder / f"n{i + 1}", ports[3 * i], ports[3 * i + 1], ports[3 * i + 2])
        for i in range(nodes)
    ]
    cluster = NatsCluster(folder, members, nats_passwords(folder), sync_always=sync_always)
    atexit.register(cluster.stop)
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


@dataclass
class PostgresPair:
    """A primary and a hot standby streaming from it; ``database_url`` reaches whichever of the
    two accepts writes."""

    primary: RunningServers
    standby_pgdata: Path
    standby_port: int
    standby_log: Path
    standby_pid: int | None = None
    _stopped: bool = False

    @property
    def primary_port(self) -> int:
        postgres = self.primary.faults().postgres
        assert postgres is not None
        return postgres.port

    @property
    def database_url(self) -> str:
        """Both hosts, primary first; a connection keeps the first that takes writes."""
        return (
            f"postgresql://{PG_SUPERUSER}@{HOST}:{self.primary_port},{HOST}:{self.standby_port}/motcua"
            "?target_session_attrs=read-write"
        )

    def stop_primary(self) -> None:
        """``pg_ctl stop -m fast`` on the primary: its sessions cut, as when its machine goes."""
        self.primary.faults().stop_postgres()

    def promote(self) -> None:
        """``pg_ctl promote``: the standby leaves recovery and takes writes (waits until it does)."""
        postgres = self.primary.faults().postgres
        assert postgres is not None
        run_pg(
            postgres.bindir,
            "pg_ctl",
            ["-D", str(self.standby_pgdata), "-w", "-t", str(int(STARTUP_TIMEOUT)), "-s", "promote"],
            postgres.user,
            self.standby_log,
            timeout=STARTUP_TIMEOUT + 10,
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        postgres = self.primary.faults().postgres
        if postgres is not None:
            stop_postgres(postgres.bindir, self.standby_pgdata, postgres.user, self.standby_pid)
        shutil.rmtree(self.standby_pgdata, ignore_errors=True)
        self.primary.stop()


def start_postgres_pair(data_dir: Path) -> PostgresPair:
    """A fresh primary under ``data_dir`` and a standby beside its PGDATA (same OS user)."""
    _reap_orphans()
    primary = start_postgres(data_dir, fresh=True)
    try:
        postgres = primary.faults().postgres
        assert postgres is not None
        standby = postgres.pgdata.with_name(postgres.pgdata.name + STANDBY_SUFFIX)
        shutil.rmtree(standby, ignore_errors=True)
        _claim(standby.parent)
        mkdir(standby, mode=0o700, owner=postgres.user)
        log_path = postgres.log.with_name("pg-standby.log")
        began = time.monotonic()
        # -R: standby.signal and primary_conninfo; -X stream: the WAL of the copy comes along.
        run_pg(
            postgres.bindir,
            "pg_basebackup",
            [
                *("-h", HOST, "-p", str(postgres.port), "-U", PG_SUPERUSER, "-D", str(standby)),
                *("-R", "-X", "stream", "-c", "fast", "--no-sync"),
            ],
            postgres.user,
            log_path,
            timeout=120,
        )
        (port,) = pick_ports([None])
        write_pg_config(standby, port, postgres.user)  # the copy's settings named the primary's port
        pair = PostgresPair(primary, standby, port, log_path)
        atexit.register(pair.stop)
        postgres.pg_ctl_start(standby, log_path)
        pair.standby_pid = postmaster_pid(standby)
        log.info("PostgreSQL standby streaming on port %s after %.2f s", port, time.monotonic() - began)
        return pair
    except BaseException:
        primary.stop()
        raise
