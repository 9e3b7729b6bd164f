"""``python -m services.ops.devservers up|down|status|clean`` (the Makefile's ``clean-data``)."""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from services.ops.devservers.folder import ServersError, is_owned, read_state
from services.ops.devservers.nats import nats_passwords, with_ops_credentials
from services.ops.devservers.processes import alive
from services.ops.devservers.servers import remove_data, start_servers, stop_recorded_servers
from shared.host.dev_secrets import FILE_NAME as DEV_SECRETS_FILE

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / ".data"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.ops.devservers",
        description="Start or stop the embedded NATS (JetStream) and PostgreSQL servers.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    helps = {
        "up": "start, print NATS_URL=/DATABASE_URL= lines, block until Ctrl-C/SIGTERM",
        "down": "stop the servers recorded in DATA_DIR/servers.json",
        "status": "print the recorded URLs if the servers are running",
        "clean": "stop nothing, delete the data folder (refuses while running)",
    }
    for name, text in helps.items():
        sub.add_parser(name, help=text).add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    sub.choices["up"].add_argument(
        "--fresh", action="store_true", help="brand-new data in a temp folder, deleted on stop"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="servers: %(message)s", stream=sys.stderr)
    try:
        if args.command == "up":
            return _up(args.data_dir, fresh=args.fresh)
        if args.command == "down":
            if not stop_recorded_servers(args.data_dir):
                print(f"servers: nothing running on {args.data_dir}", file=sys.stderr)
            return 0
        if args.command == "status":
            return _status(args.data_dir)
        remove_data(args.data_dir)
        return 0
    except ServersError as exc:
        print(f"servers: {exc}", file=sys.stderr)
        return 1


def _up(data_dir: Path, *, fresh: bool) -> int:
    stop_requested = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop_requested.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    servers = start_servers(data_dir, fresh=fresh)
    try:
        print(f"NATS_URL={shlex.quote(servers.nats_url)}")
        print(f"DATABASE_URL={shlex.quote(servers.database_url)}", flush=True)
        status = 0
        while not stop_requested.wait(0.5):
            state = read_state(servers.data_dir) if servers.data_dir else {}
            for name in ("nats", "postgres"):
                pid = (state.get(name) or {}).get("pid")
                if isinstance(pid, int) and not alive(pid):
                    print(f"servers: {name} (pid {pid}) exited unexpectedly; stopping", file=sys.stderr)
                    stop_requested.set()
                    status = 1
        return status
    finally:
        servers.stop()


def _status(data_dir: Path) -> int:
    run_dir = data_dir.expanduser().resolve()
    if not is_owned(run_dir):
        print(f"servers: not running on {run_dir}", file=sys.stderr)
        return 1
    state = read_state(run_dir)
    nats_url = str((state.get("nats") or {}).get("url", ""))
    if nats_url and (run_dir / DEV_SECRETS_FILE).exists():
        nats_url = with_ops_credentials(nats_url, nats_passwords(run_dir))
    print(f"NATS_URL={shlex.quote(nats_url)}")
    print(f"DATABASE_URL={shlex.quote(str((state.get('postgres') or {}).get('url', '')))}")
    return 0
