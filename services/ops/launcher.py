"""`make run`: the whole system on one machine, with a demo, stopped cleanly by Ctrl-C.

Starts NATS and PostgreSQL from the pip packages under one data folder (unless ``NATS_URL``
and ``DATABASE_URL`` are set), declares the stream and consumers as the NATS ops user, then
the four services as separate processes (each with its own NATS user), waits until each
answers ``/health``, seeds the demo and prints where everything is. It is a development run
(``MOTCUA_ENV=development``): secrets nobody configured are generated under the data folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from services.identity_dev import PORT as IDENTITY_PORT
from services.identity_dev.main import issuer_url
from services.notify.config import DEV_SMTP_PORT
from services.ops.demo import seed_demo
from services.ops.devservers import RunningServers, servers_from_env_or_start
from services.payments.config import dev_callback_secret
from services.payments_sim import PORT as PAYMENT_SIM_PORT
from services.postal.config import dev_webhook_secret
from services.postal_sim import PORT as POSTAL_SIM_PORT
from services.web.config import web_port
from shared.auth.dev_issuer import DevIssuer
from shared.eventlog import declare_topology
from shared.eventlog.nats_users import connect
from shared.host.dev_secrets import dev_secret, development_secrets
from shared.host.settings import DEFAULT_PORTS, SIDE_PORTS, service_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = (*DEFAULT_PORTS, *SIDE_PORTS)


def declare_as_ops(nats_url: str) -> None:
    """Services with their own NATS users may not declare the topology: ops does, first."""

    async def run() -> None:
        nc = await connect(nats_url, os.environ.get("NATS_USER") or None, os.environ.get("NATS_PASSWORD"))
        try:
            await declare_topology(nc.jetstream())
        finally:
            await nc.close()

    asyncio.run(run())


def start_keeper(nats_url: str, env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """The topology's owner stays up beside the services: it re-declares the stream and the
    consumers if JetStream loses them (``motcua topology keep``), as the ops user."""
    keeper_env = {**env, "NATS_URL": nats_url}
    for key in ("NATS_USER", "NATS_PASSWORD"):  # the launcher's own ops credentials, if any
        if os.environ.get(key):
            keeper_env[key] = os.environ[key]
    command = [sys.executable, "-m", "services.ops.cli", "topology", "keep"]
    if log is None:
        return subprocess.Popen(command, cwd=ROOT, env=keeper_env, stdout=subprocess.DEVNULL)  # noqa: S603
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=keeper_env, stdout=out, stderr=out)  # noqa: S603


def service_env(name: str, base: dict[str, str], servers: RunningServers) -> dict[str, str]:
    """One service's environment: its own NATS user when the servers are ours."""
    credentials = servers.nats_credentials(name)
    if not credentials:
        return base
    return {**base, "NATS_URL": servers.plain_nats_url, **credentials}


def development_env(servers: RunningServers, data_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "NATS_URL": servers.nats_url,
        "DATABASE_URL": servers.database_url,
        "MOTCUA_ENV": "development",
        "MOTCUA_DATA_DIR": str(data_dir),
    }
    # Services never run as ops; NATS_USER/NATS_PASSWORD here were the launcher's own.
    env.pop("NATS_USER", None)
    env.pop("NATS_PASSWORD", None)
    # Postal books with the simulator wherever it listens, unless real operators are configured.
    sim_port = os.environ.get("POSTAL_SIM_PORT", str(POSTAL_SIM_PORT))
    env.setdefault("POSTAL_OPERATORS", f"VNPOST=http://127.0.0.1:{sim_port}")
    if not env.get("POSTAL_WEBHOOK_SECRETS"):
        # A secret of this data folder, never a published one; the simulator signs with it.
        secret = dev_webhook_secret("VNPOST", data_dir)
        env["POSTAL_WEBHOOK_SECRETS"] = f"VNPOST={secret}"
        env.setdefault("POSTAL_SIM_SECRET", secret)
    # Payments likewise with the payment platform simulator, and notify mails a local SMTP server.
    pay_port = os.environ.get("PAYMENT_SIM_PORT", str(PAYMENT_SIM_PORT))
    env.setdefault("PAYMENT_PROVIDERS", f"PAYGOV=http://127.0.0.1:{pay_port}")
    if not env.get("PAYMENT_CALLBACK_SECRETS"):
        pay_secret = dev_callback_secret("PAYGOV", data_dir)
        env["PAYMENT_CALLBACK_SECRETS"] = f"PAYGOV={pay_secret}"
        env.setdefault("PAYMENT_SIM_SECRET", pay_secret)
    env.setdefault("NOTIFY_SMTP", f"127.0.0.1:{DEV_SMTP_PORT}")
    return env


def start_service(
    name: str, env: dict[str, str], port: int | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """One service as its own uvicorn process; its output goes to ``log`` when given."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        f"services.{name}.main:create_app",
        "--factory",
        "--host",
        os.environ.get("MOTCUA_HOST", "127.0.0.1"),
        "--port",
        str(port or service_port(name)),
        "--log-level",
        "warning",
    ]
    if log is None:
        return subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own interpreter
    with open(log, "ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)  # noqa: S603


def wait_healthy(
    name: str, process: subprocess.Popen[bytes], timeout: float = 60.0, url: str | None = None
) -> None:
    url = url or f"http://127.0.0.1:{service_port(name)}/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not become healthy at {url} within {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--exit-after-demo", action="store_true", help="for tests: stop once seeded")
    args = parser.parse_args()

    servers = servers_from_env_or_start(args.data_dir)
    env = development_env(servers, args.data_dir)
    # Without a configured identity provider, `make run` brings its own (development only).
    own_identity = not os.environ.get("MOTCUA_OIDC_ISSUER")
    identity_port = int(os.environ.get("IDENTITY_PORT", IDENTITY_PORT))
    issuer: DevIssuer | None = None
    if own_identity:
        issuer = DevIssuer.in_folder(args.data_dir, issuer=issuer_url(identity_port))
        env.update(
            MOTCUA_OIDC_ISSUER=issuer.issuer,
            MOTCUA_OIDC_AUDIENCE=issuer.audience,
            MOTCUA_OIDC_JWKS_URL=f"{issuer.issuer}/protocol/openid-connect/certs",
            IDENTITY_PORT=str(identity_port),
        )
    env.update(development_secrets(args.data_dir, env))
    # The web's registration at the provider: only the web and the provider see its secret.
    web_client = {"MOTCUA_WEB_CLIENT_SECRET": os.environ.get("MOTCUA_WEB_CLIENT_SECRET", "")}
    if own_identity and not web_client["MOTCUA_WEB_CLIENT_SECRET"]:
        web_client["MOTCUA_WEB_CLIENT_SECRET"] = dev_secret(args.data_dir, "web_client_secret")
    sim_port = os.environ.get("POSTAL_SIM_PORT", str(POSTAL_SIM_PORT))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\nmotcua: stopping…", flush=True)
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10  # one deadline for all: they stop side by side
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        servers.stop()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # Ctrl-C must stop everything even when started from a script as a background job, which
    # inherits SIGINT ignored (and Python then never raises KeyboardInterrupt).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        declare_as_ops(servers.nats_url)
        processes["topology"] = start_keeper(servers.nats_url, env)
        if issuer is not None:
            identity = [sys.executable, "-m", "services.identity_dev", "--data-dir", str(args.data_dir)]
            processes["identity"] = subprocess.Popen(identity, cwd=ROOT, env={**env, **web_client})  # noqa: S603
            wait_healthy(
                "identity",
                processes["identity"],
                url=f"{issuer.issuer}/.well-known/openid-configuration",
            )
        for name in SERVICES:
            processes[name] = start_service(name, service_env(name, env, servers))
        # The web holds no NATS or database connection: it calls the services' HTTP APIs.
        web_env = {k: v for k, v in env.items() if k not in ("NATS_URL", "DATABASE_URL", "MOTCUA_MASTER_KEY")}
        web_env.update(web_client)
        processes["web"] = start_service("web", web_env, web_port())
        sim_command = [sys.executable, "-m", "services.postal_sim.main"]
        sim_env = {**env, "NATS_URL": servers.plain_nats_url}  # the simulator never talks to NATS
        processes["postal_sim"] = subprocess.Popen(sim_command, cwd=ROOT, env=sim_env)  # noqa: S603
        pay_sim = [sys.executable, "-m", "services.payments_sim.main"]
        processes["payments_sim"] = subprocess.Popen(pay_sim, cwd=ROOT, env=sim_env)  # noqa: S603
        # A local mail server that prints what notify sends (development only: nothing leaves).
        smtp_host, _, smtp_port = env["NOTIFY_SMTP"].rpartition(":")
        if smtp_host in ("127.0.0.1", "localhost"):
            smtp = [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-c",
                "aiosmtpd.handlers.Debugging",
                "-l",
                f"{smtp_host}:{smtp_port}",
            ]
            processes["smtp"] = subprocess.Popen(smtp, cwd=ROOT, env=sim_env, stdout=subprocess.DEVNULL)  # noqa: S603
        for name in SERVICES:
            wait_healthy(name, processes[name])
        wait_healthy("web", processes["web"], url=f"http://127.0.0.1:{web_port()}/health")
        if not args.no_demo and issuer is not None:
            seed_demo(
                {name: f"http://127.0.0.1:{service_port(name)}" for name in SERVICES},
                issuer,
                print_progress=True,
            )
        print("\nmotcua is running:")
        # What a person opens first: the pages (sign in as a demo user, password below).
        print(f"  {'web':<11} http://127.0.0.1:{web_port()}/  (sign in: tiepnhan, canbo.stp, lanhdao.stp)")
        # The ops user's URL, for the motcua CLI (a development secret of .data/).
        print(f"  NATS        {servers.nats_url}  (as ops)")
        print(f"  PostgreSQL  {servers.database_url}")
        for name in SERVICES:
            print(f"  {name:<11} http://127.0.0.1:{service_port(name)}/docs")
        print(f"  {'postal sim':<11} http://127.0.0.1:{sim_port}/docs  (postal operator simulator)")
        print(f"  {'payment sim':<11} http://127.0.0.1:{PAYMENT_SIM_PORT}/payments  (payment platform sim)")
        if issuer is not None:
            password = dev_secret(args.data_dir, "demo_password", 9)
            print(f"  {'identity':<11} {issuer.issuer}  (development sign-in; demo password: {password})")
            print(
                "  a token for /docs:  .venv/bin/motcua token --user tiepnhan   (users: motcua token --list)"
            )
        print("Ctrl-C stops everything.", flush=True)
        if args.exit_after_demo:
            return
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        dead = [n for n, p in processes.items() if p.poll() is not None]
        print(f"motcua: {', '.join(dead)} exited; stopping the rest", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop()


if __name__ == "__main__":
    main()
