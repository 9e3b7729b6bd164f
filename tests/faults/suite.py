"""The fault suite: the whole system as separate processes, a bounded load, one fault at a time.

Fresh NATS and PostgreSQL (embedded, free ports) are started; the four services and the topology
keeper reach them through TCP proxies (``proxy.py``), so the network can be cut. For each fault a
load of dossiers is offered to intake at a fixed rate (open loop, the desk officer's token),
each sent again with its Idempotency-Key when it gets no answer or a 503, as a real client does;
the fault strikes a third of the way in; once the fault is over and the load has ended, the
suite waits until the system has converged and checks, over everything accepted so far:

* every dossier offered was accepted in the end (retries included), no 5xx but 503;
* every dossier intake accepted is in intake's store, has one case in processing and is counted
  once in scoring (lost / doubled);
* ``motcua verify`` finds 0 differences between scoring's live tables and the stores.

``python -m tests.faults`` (``make faults``) runs them all and writes the table to
``tests/faults/results/`` and the README; ``tests/faults/test_heal.py`` runs one, briefly, in
``make test``.

The high-availability faults (``HA_FAULTS``) run on another stack (``fault_stack(..., ha=True)``):
a three-node JetStream cluster (stream at 3 replicas, ``sync_interval: always``) that the services
reach through every node's URL, and a PostgreSQL primary with a streaming standby that they reach
through a two-host URL with ``target_session_attrs=read-write`` (``services/ops/devservers/ha.py``); no
proxies there, the nodes themselves fail. ``tests/faults/test_ha.py`` runs both briefly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.identity import AUDITOR_USER, DESK_USER, identity_env, issuer_in
from bench.rawhttp import Connection, HttpError
from bench.stack import free_port
from bench.workload import applicant
from services.ops.devservers import RunningServers, start_servers
from services.ops.devservers.ha import NatsCluster, PostgresPair, start_nats_cluster, start_postgres_pair
from services.ops.launcher import ROOT, development_env, start_keeper, start_service, wait_healthy
from shared.auth.dev_issuer import DevIssuer, demo_user
from shared.eventlog.topology import consumers_of
from shared.host.dev_secrets import development_secrets
from tests.faults.proxy import Proxy

SERVICES = ("intake", "processing", "postal", "scoring")
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Outcome:
    fault: str
    offered: int
    accepted: int
    lost: int
    doubled: int
    server_errors: int  # 5xx answers other than 503 (an outage's answer): bugs
    unavailable: int  # requests answered 503 + Retry-After at least once (then retried)
    failed: int  # requests with no answer at least once (connection refused or cut; then retried)
    retried: int  # accepted after retries with the same Idempotency-Key
    differences: int  # motcua verify
    converged_s: float | None
    heals: int
    notes: str = ""
    accepted_after: int = 0  # accepted once the fault was over (the system took work again)

    @property
    def ok(self) -> bool:
        return self.converged_s is not None and not (
            self.lost or self.doubled or self.differences or self.server_errors or self.unaccepted
        )

    @property
    def unaccepted(self) -> int:
        """Dossiers offered that were never accepted, retries included: handed in, yet refused."""
        return self.offered - self.accepted


@dataclass
class FaultStack:
    servers: RunningServers
    nats_proxy: Proxy | None
    pg_proxy: Proxy | None
    env: dict[str, str]
    issuer: DevIssuer
    logs: Path
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    # The HA stack: the NATS cluster and the PostgreSQL pair (then no proxies).
    cluster: NatsCluster | None = None
    pair: PostgresPair | None = None

    @property
    def database_url(self) -> str:
        """What the checks read: both hosts in the HA stack (the primary may have moved)."""
        return self.pair.database_url if self.pair else self.servers.database_url

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def token(self, user: str) -> str:
        return self.issuer.token_for(demo_user(user))

    def start(self, name: str) -> None:
        self.start_many([name])

    def start_many(self, names: list[str]) -> None:
        """Starts instances side by side: ``intake`` is a service's first, ``intake.2`` its second."""
        started = {}
        for name in names:
            service = service_of(name)
            credentials = (
                self.cluster.credentials(service) if self.cluster else self.servers.nats_credentials(service)
            )
            env = {**self.env, **credentials, "MOTCUA_REPLICA": name}
            started[name] = start_service(service, env, self.ports[name], log=self.logs / f"{name}.log")
            self.processes[name] = started[name]
        for name, process in started.items():
            wait_healthy(name, process, timeout=180, url=f"{self.url(name)}/health")

    def instances(self, service: str) -> list[str]:
        """The service's instances still running."""
        return sorted(
            name
            for name, process in self.processes.items()
            if service_of(name) == service and process.poll() is None
        )

    def start_keeper(self) -> None:
        if self.cluster is not None:
            url = self.cluster.ops_url
        else:
            assert self.nats_proxy is not None
            ops = self.servers.nats_url.split("@", 1)[0]  # nats://ops:<password>
            url = f"{ops}@127.0.0.1:{self.nats_proxy.port}"
        self.processes["topology"] = start_keeper(url, self.env, log=self.logs / "topology.log")

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def service_of(instance: str) -> str:
    return instance.partition(".")[0]


def instance_names(replicas: int) -> list[str]:
    return [name if i == 1 else f"{name}.{i}" for name in SERVICES for i in range(1, replicas + 1)]


@contextlib.contextmanager
def fault_stack(
    data_dir: Path,
    keep_logs: Path | None = None,
    replicas: int = 1,
    env: dict[str, str] | None = None,
    *,
    ha: bool = False,
    ack_wait_s: float | None = None,
) -> Iterator[FaultStack]:
    """The system under test, ``replicas`` processes of each service; ``keep_logs``: where the
    services' logs are copied at the end (the fresh data folder, logs included, is deleted with
    the servers); ``ha``: on a three-node NATS cluster and a PostgreSQL primary with a standby,
    ``ack_wait_s`` the consumers' ack wait there (default: the topology's own)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if ha:
        with _ha_stack(data_dir, ack_wait_s) as stack:
            yield stack
        return
    servers = start_servers(data_dir, fresh=True)
    assert servers.data_dir is not None
    nats_port = int(servers.plain_nats_url.rsplit(":", 1)[1])
    pg_port = int(servers.database_url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    nats_proxy, pg_proxy = Proxy(nats_port).start(), Proxy(pg_port).start()
    issuer, jwks = issuer_in(servers.data_dir / "identity")
    env = {
        **development_env(servers, servers.data_dir),
        **identity_env(issuer, jwks),
        "NATS_URL": f"nats://127.0.0.1:{nats_proxy.port}",
        "DATABASE_URL": servers.database_url.replace(f":{pg_port}/", f":{pg_proxy.port}/"),
        # Heal within seconds, and do not let uvicorn's access log fill the disk.
        "MOTCUA_TOPOLOGY_KEEP_S": "0.5",
        **(env or {}),
    }
    env.update(development_secrets(servers.data_dir, env))
    logs = servers.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    stack = FaultStack(servers, nats_proxy, pg_proxy, env, issuer, logs)
    try:
        _start_system(stack, replicas)
        yield stack
    finally:
        stack.stop_all()
        nats_proxy.stop()
        pg_proxy.stop()
        if keep_logs is not None:
            shutil.copytree(logs, keep_logs, dirs_exist_ok=True)
        servers.stop()


def _start_system(stack: FaultStack, replicas: int = 1) -> None:
    stack.ports = {name: free_port() for name in instance_names(replicas)}
    stack.env.update({f"{name.upper()}_PORT": str(stack.ports[name]) for name in SERVICES})
    # The keeper declares the topology before the services wait for it.
    stack.start_keeper()
    stack.start_many(instance_names(replicas))


@contextlib.contextmanager
def _ha_stack(data_dir: Path, ack_wait_s: float | None) -> Iterator[FaultStack]:
    pair = start_postgres_pair(data_dir)
    cluster: NatsCluster | None = None
    stack: FaultStack | None = None
    try:
        cluster = start_nats_cluster(data_dir / "nats-cluster", nodes=3, sync_always=True)
        servers = pair.primary
        assert servers.data_dir is not None
        issuer, jwks = issuer_in(servers.data_dir / "identity")
        env = {
            **development_env(servers, servers.data_dir),
            **identity_env(issuer, jwks),
            "NATS_URL": cluster.plain_url,  # every node: a client moves on when its node dies
            "NATS_REPLICAS": "3",
            "DATABASE_URL": pair.database_url,
            "MOTCUA_TOPOLOGY_KEEP_S": "0.5",
            **({"MOTCUA_ACK_WAIT_S": str(ack_wait_s)} if ack_wait_s else {}),
        }
        env.update(development_secrets(servers.data_dir, env))
        logs = servers.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        stack = FaultStack(servers, None, None, env, issuer, logs, cluster=cluster, pair=pair)
        _start_system(stack)
        yield stack
    finally:
        if stack is not None:
            stack.stop_all()
        if cluster is not None:
            cluster.stop()
        pair.stop()


# --------------------------------------------------------------------------------------------
# Load
# --------------------------------------------------------------------------------------------


# A client of the real system retries what got no answer, a 503 or "still in progress" (409
# after a crash, until the dead attempt's claim expires: INTAKE_KEY_LEASE_S, 30 s by default)
# with the same Idempotency-Key; it gives up after this long.
RETRY_FOR_S = 90.0
RETRY_BACKOFF_S = (0.5, 1.0, 2.0)  # then every 2 s (the services' Retry-After is 1-2 s)


@dataclass
class Load:
    offered: int = 0
    accepted: list[str] = field(default_factory=list)
    server_errors: int = 0  # 5xx other than 503: a bug (an outage must be a 503)
    unavailable: int = 0  # requests answered 503 with Retry-After at least once
    failed: int = 0  # requests that got no answer at least once (connection refused, cut, 10 s)
    recovered: int = 0  # of those, accepted when sent again with the same key
    retried: int = 0  # accepted after one or more retries with the same key
    other: Counter[int | str] = field(default_factory=Counter)  # other final statuses; 5xx by code
    answered: dict[str, str] = field(default_factory=dict)  # idempotency key -> dossier code
    unanswered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # key, body: never answered
    accepted_at: list[float] = field(default_factory=list)  # monotonic time of each acceptance


async def offer(stack: FaultStack, rate: float, seconds: float, tag: str) -> Load:
    """Dossiers offered at ``rate`` a second whatever the answers (open loop), each with its own
    idempotency key; an attempt waits at most 10 s for its answer. What got no answer, a 503 or
    a 409 ``request_in_progress`` is sent again, same key and body, until accepted (bounded by
    ``RETRY_FOR_S``), as a citizen's client would: so nothing handed in is left behind."""
    load = Load()
    token = stack.token(DESK_USER)
    intake = (stack.instances("intake") or ["intake"])[0]
    async with httpx.AsyncClient(base_url=stack.url(intake), timeout=10) as client:
        procedures = (await client.get("/procedures")).json()
    desk = [p["code"] for p in procedures if 1 in [int(c) for c in p["channels"]]]
    rng = random.Random(tag)
    free: dict[str, list[Connection]] = {}

    async def attempt(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes] | None:
        pool = free.setdefault(url, [])
        connection = pool.pop() if pool else Connection(url)
        try:
            answer = await asyncio.wait_for(connection.request("POST", "/dossiers", body, headers), 10)
        except (HttpError, TimeoutError, OSError):
            await connection.close()
            return None
        pool.append(connection)
        return answer

    async def one(serial: int) -> None:
        filing = {"procedure_code": rng.choice(desk), "applicant": applicant(rng), "channel": 1}
        body = json.dumps(filing)
        key = f"{tag}-{serial}"
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        began = time.monotonic()
        unanswered = unavailable = False
        for tries in itertools.count():
            # Spread over the intakes running now, as a load balancer would.
            running = stack.instances("intake") or ["intake"]
            answer = await attempt(stack.url(running[serial % len(running)]), body.encode(), headers)
            status, content = answer if answer is not None else (0, b"")
            code = _error_code(content) if status >= 400 else None
            again = answer is None or status == 503 or (status == 409 and code == "request_in_progress")
            unanswered |= answer is None
            unavailable |= status == 503
            if not again or time.monotonic() - began > RETRY_FOR_S:
                break
            await asyncio.sleep(RETRY_BACKOFF_S[min(tries, len(RETRY_BACKOFF_S) - 1)])
        load.failed += unanswered
        load.unavailable += unavailable
        if status in (200, 201):
            load.accepted.append(json.loads(content)["code"])
            load.answered[key] = load.accepted[-1]
            load.retried += tries > 0
            load.recovered += unanswered
            load.accepted_at.append(time.monotonic())
        elif status >= 500 and status != 503:
            load.server_errors += 1
            load.other[f"{status} {code}"] += 1
        else:
            if answer is None:
                load.unanswered.append((key, filing))
            load.other[f"{status} {code}" if status else "no answer"] += 1

    started = time.monotonic()
    tasks = []
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate) + 1
        while load.offered < due:
            load.offered += 1
            tasks.append(asyncio.create_task(one(load.offered)))
        await asyncio.sleep(min(0.02, 1 / rate))
    await asyncio.gather(*tasks)
    for connections in free.values():
        for connection in connections:
            await connection.close()
    return load


def _error_code(content: bytes) -> str | None:
    try:
        code = json.loads(content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(code)


# --------------------------------------------------------------------------------------------
# Faults: each returns when the fault is over (the process, server or link is back)
# --------------------------------------------------------------------------------------------

Fault = Callable[[FaultStack, float], None]


def kill_service(name: str) -> Fault:
    def fault(stack: FaultStack, _: float) -> None:
        stack.kill(name)
        time.sleep(2)
        stack.start(name)

    return fault


def kill_nats(stack: FaultStack, _: float) -> None:
    stack.servers.faults().kill_nats()
    time.sleep(2)
    stack.servers.faults().start_nats()


def wipe_jetstream(stack: FaultStack, _: float) -> None:
    """JetStream's store deleted while scoring is behind: its backlog is only in PostgreSQL."""
    stack.kill("scoring")  # the backlog builds up
    time.sleep(3)
    stack.servers.faults().kill_nats()
    stack.servers.faults().start_nats(wipe_store=True)
    stack.start("scoring")


def restart_postgres(stack: FaultStack, _: float) -> None:
    stack.servers.faults().stop_postgres()
    time.sleep(5)
    stack.servers.faults().start_postgres()


def cut_nats(stack: FaultStack, cut_s: float) -> None:
    assert stack.nats_proxy is not None
    stack.nats_proxy.set("cut")
    time.sleep(cut_s)
    stack.nats_proxy.set("pass")


def kill_stream_leader(stack: FaultStack, _: float) -> None:
    """SIGKILL to the node leading the event stream (the hardest one to lose: a new leader must
    be elected before anything is stored), down 5 s, then back on its ports and store."""
    from shared.eventlog.nats_users import connect
    from shared.eventlog.topology import STREAM

    cluster = stack.cluster
    assert cluster is not None

    async def leader() -> str:
        nc = await connect(cluster.ops_url)
        try:
            info = await nc.jetstream().stream_info(STREAM)
        finally:
            await nc.close()
        assert info.cluster is not None and info.cluster.leader is not None
        assert info.config.num_replicas == 3, info.config
        return info.cluster.leader

    index = cluster.index_of(asyncio.run(leader()))
    cluster.kill(index)
    time.sleep(5)
    cluster.start_node(index)


def fail_over_postgres(stack: FaultStack, _: float) -> None:
    """The primary stopped; 2 s later the standby promoted (an operator's or a manager's
    decision); the services, never restarted, find it through their two-host URL."""
    pair = stack.pair
    assert pair is not None
    pair.stop_primary()
    time.sleep(2)
    pair.promote()


FAULTS: dict[str, Fault] = {
    **{f"kill -9 {name}": kill_service(name) for name in SERVICES},
    "kill -9 nats-server": kill_nats,
    "JetStream data deleted (backlog)": wipe_jetstream,
    "PostgreSQL restarted (5 s)": restart_postgres,
    "network to NATS cut": cut_nats,
}
# On the HA stack (``fault_stack(..., ha=True)``), in this order: the fail-over is for good.
HA_FAULTS: dict[str, Fault] = {
    "kill -9 the NATS stream leader (cluster of 3)": kill_stream_leader,
    "PostgreSQL fail-over to the standby": fail_over_postgres,
}


# --------------------------------------------------------------------------------------------
# Convergence and checks
# --------------------------------------------------------------------------------------------


async def lag(stack: FaultStack) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.token(AUDITOR_USER)}"}
    scoring = (stack.instances("scoring") or ["scoring"])[0]
    async with httpx.AsyncClient(base_url=stack.url(scoring), timeout=10) as client:
        answer = await client.get("/ops/lag", headers=headers)
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    return data


async def converged(stack: FaultStack, database_url: str) -> bool:
    """Every consumer at lag 0 and level with PostgreSQL, and scoring counts every accepted dossier."""
    try:
        info = await lag(stack)
    except (httpx.HTTPError, OSError):
        return False
    # Only the consumers of the services this stack runs: the others (payments, notify) are
    # declared by the keeper but read by nobody here, so they would never drain.
    running = {spec.durable for name in SERVICES for spec in consumers_of(name)}
    store = [c for c in info["store"]["consumers"] if c["consumer"] in running]
    # A consumer that also reads a service not running here (scoring reads payments) cannot be
    # compared with the store ("unknown"): its lag and scoring's count below still decide.
    if any(c["status"] != "ok" and set(c["sources"]) <= set(SERVICES) for c in store):
        return False
    if any(c.get("lag", 1) for c in info["consumers"] if c["consumer"] in running):
        return False
    conn = await asyncpg.connect(database_url)
    try:
        counted = await conn.fetchval("SELECT count(*) FROM scoring.dossier_facts")
    finally:
        await conn.close()
    return int(counted) >= len(stack.accepted)


def check(stack: FaultStack) -> tuple[int, int]:
    """(lost, doubled) over everything accepted so far, read from the stores and scoring."""
    from services.ops.event_log import open_logs

    received: Counter[str] = Counter()
    cases: Counter[str] = Counter()
    for log in open_logs(stack.database_url, ("intake", "processing"), create=False):
        try:
            for contracts in log.partition(0, 1):
                for c in contracts:
                    if c.event_type.startswith("intake.dossier_received"):
                        received[c.dossier_code] += 1
                    elif c.event_type == "processing.case_opened.v1":
                        cases[c.dossier_code] += 1
        finally:
            log.close()

    async def scored() -> Counter[str]:
        conn = await asyncpg.connect(stack.database_url)
        try:
            rows = await conn.fetch("SELECT dossier_code FROM scoring.dossier_facts")
        finally:
            await conn.close()
        return Counter(r["dossier_code"] for r in rows)

    counted = asyncio.run(scored())
    stored = set(received)
    lost = len(stack.accepted - stored) + len(stored - set(cases)) + len(stored - set(counted))
    doubled = sum(n - 1 for counter in (received, cases, counted) for n in counter.values() if n > 1)
    return lost, doubled


def verify(stack: FaultStack) -> int:
    """``motcua verify``: the number of differences (0 when scoring matches the stores)."""
    result = subprocess.run(
        [sys.executable, "-m", "services.ops.cli", "verify", "--database-url", stack.database_url],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode == 0:
        return 0
    for line in reversed(result.stdout.splitlines()):
        if "difference" in line:
            return int(line.split()[0])
    raise RuntimeError(f"motcua verify failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")


def run_fault(
    stack: FaultStack, name: str, *, rate: float, seconds: float, cut_s: float, timeout_s: float = 180
) -> Outcome:
    fault = {**FAULTS, **HA_FAULTS}[name]
    heals_before = _heals(stack)
    fault_over = 0.0

    async def drive() -> Load:
        nonlocal fault_over
        load = asyncio.create_task(offer(stack, rate, seconds, tag=f"{name}-{time.time()}"))
        await asyncio.sleep(seconds / 3)
        await asyncio.to_thread(fault, stack, cut_s)
        fault_over = time.monotonic()
        return await load

    load = asyncio.run(drive())
    stack.accepted.update(load.accepted)
    since = max(fault_over, time.monotonic())  # the load has ended too
    converged_s: float | None = None
    while time.monotonic() - since < timeout_s:
        if asyncio.run(converged(stack, stack.database_url)):
            converged_s = round(time.monotonic() - since, 1)
            break
        time.sleep(0.5)
    lost, doubled = check(stack)
    return Outcome(
        fault=name,
        offered=load.offered,
        accepted=len(load.accepted),
        lost=lost,
        doubled=doubled,
        server_errors=load.server_errors,
        unavailable=load.unavailable,
        accepted_after=sum(1 for at in load.accepted_at if at > fault_over),
        failed=load.failed,
        retried=load.retried,
        differences=verify(stack),
        converged_s=converged_s,
        heals=_heals(stack) - heals_before,
        notes=", ".join(f"{n}×{s}" for s, n in sorted(load.other.items(), key=str)),
    )


def _heals(stack: FaultStack) -> int:
    with contextlib.suppress(Exception):
        return int(asyncio.run(lag(stack))["store"]["relay_heals"])
    return 0


def run_suite(
    data_dir: Path,
    faults: list[str],
    *,
    rate: float,
    seconds: float,
    cut_s: float,
    report: Callable[[Outcome], None] = lambda _: None,
    keep_logs: Path | None = None,
    ha: bool = False,
    ack_wait_s: float | None = None,
) -> list[Outcome]:
    outcomes = []
    with fault_stack(data_dir, keep_logs, ha=ha, ack_wait_s=ack_wait_s) as stack:
        for name in faults:
            outcome = run_fault(stack, name, rate=rate, seconds=seconds, cut_s=cut_s)
            report(outcome)
            outcomes.append(outcome)
    return outcomes


def table(outcomes: list[Outcome], rate: float, seconds: float) -> str:
    lines = [
        "| fault | load | lost | doubled | 5xx (not 503) | 503 + Retry-After | no answer"
        " | accepted after retry | not accepted | verify | converged in s | relay heals |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        converged = "not converged" if o.converged_s is None else f"{o.converged_s}"
        lines.append(
            f"| {o.fault} | {o.offered} offered at {rate:g}/s over {seconds:g} s, {o.accepted} accepted"
            f" | {o.lost} | {o.doubled} | {o.server_errors} | {o.unavailable} | {o.failed}"
            f" | {o.retried} | {o.unaccepted} | {o.differences} differences | {converged} | {o.heals} |"
        )
    return "\n".join(lines) + "\n"
