"""``motcua``: the operations command line (replay, verify, history, lag, dead letters, erase).

It reads ``DATABASE_URL`` and ``NATS_URL`` (or ``--database-url`` / ``--nats-url``); when they
are not set, the URLs of the servers ``make run`` is running, from ``.data/servers.json``
(``--data-dir`` / ``MOTCUA_DATA_DIR`` for another folder; the NATS URL then carries the folder's
ops user), so an operator beside ``make run`` copies nothing. On a bus with users it connects as
``NATS_USER``/``NATS_PASSWORD`` or as the user in the URL. Replay and verify read the services'
PostgreSQL event stores, the source of truth (docs/architecture.md, "Source of truth"), with
progress bars (plain lines in a log).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from nats.aio.client import Client
from rich.console import Console
from rich.table import Table

from services.ops.devservers import recorded_urls
from services.ops.replay_progress import replay_with_progress, verify_with_progress
from services.scoring import operations
from services.scoring.verify import IN_FLIGHT
from shared.eventlog import declare_topology
from shared.eventlog.nats_users import authorization_block, connect
from shared.eventlog.singleton import Singleton, singletons_ddl
from shared.eventlog.topology import KEEP_INTERVAL_S, keep_topology

app = typer.Typer(help="motcua operations: replay, verify, history, lag, dead letters", no_args_is_help=True)
replay_app = typer.Typer(help="Rebuild a projection from the event log", no_args_is_help=True)
app.add_typer(replay_app, name="replay")
topology_app = typer.Typer(
    help="The JetStream stream, its consumers and the NATS users", no_args_is_help=True
)
app.add_typer(topology_app, name="topology")
console = Console()
WRITE = "writing scoring's tables"

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / ".data"
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", envvar="DATABASE_URL", help="PostgreSQL URL (default: make run's)"),
]
NatsUrl = Annotated[
    str | None, typer.Option("--nats-url", envvar="NATS_URL", help="NATS URL (default: make run's)")
]
_data_dir = DEFAULT_DATA_DIR


@app.callback()
def options(
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir", envvar="MOTCUA_DATA_DIR", help="where make run keeps servers.json (for the URLs)"
        ),
    ] = DEFAULT_DATA_DIR,
) -> None:
    global _data_dir
    _data_dir = data_dir


def _recorded(which: int, name: str) -> str:
    found = recorded_urls(_data_dir)
    if found is None:
        console.print(
            f"[red]no {name}[/]: set {name} (or pass --{name.lower().replace('_', '-')}), or start"
            f" `make run`, whose servers are found through {_data_dir / 'servers.json'}"
        )
        raise typer.Exit(2)
    return found[which]


def database(url: str | None) -> str:
    return url or _recorded(1, "DATABASE_URL")


def nats_server(url: str | None) -> str:
    return url or _recorded(0, "NATS_URL")


async def _nats(url: str) -> Client:
    return await connect(url, os.environ.get("NATS_USER") or None, os.environ.get("NATS_PASSWORD") or None)


@topology_app.command("declare")
def topology_declare(nats_url: NatsUrl = None) -> None:
    """Create or update the stream and every durable consumer (as the ops user, before services start)."""
    url = nats_server(nats_url)

    async def run() -> None:
        nc = await _nats(url)
        try:
            await declare_topology(nc.jetstream())
        finally:
            await nc.close()

    asyncio.run(run())
    console.print("[green]declared[/] the stream and its consumers")


@topology_app.command("keep")
def topology_keep(
    nats_url: NatsUrl = None,
    interval: Annotated[float, typer.Option(help="seconds between two looks")] = KEEP_INTERVAL_S,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            envvar="DATABASE_URL",
            help="with it, one keeper of several keeps at a time (a PostgreSQL lock); the others wait",
        ),
    ] = None,
) -> None:
    """Declare, then keep watching: re-declare the stream or a consumer that went missing (JetStream's
    store lost). Runs until stopped (Ctrl-C / SIGTERM); the relays re-publish from PostgreSQL."""
    import logging
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    url = nats_server(nats_url)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        nc = await connect(
            url, os.environ.get("NATS_USER") or None, os.environ.get("NATS_PASSWORD") or None, reconnect=True
        )

        async def keep(term: asyncio.Event) -> None:
            await declare_topology(nc.jetstream())
            console.print("[green]declared[/] the stream and its consumers; keeping them")
            await keep_topology(nc.jetstream(), term, interval_s=interval)

        try:
            if database_url is None:
                await keep(stop)
            else:
                # Two keepers would re-declare side by side (harmless, but noisy): one keeps.
                conn = await asyncpg.connect(database_url)
                try:
                    async with conn.transaction():  # keepers starting at once race on the DDL
                        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ddl:ops'))")
                        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS ops; {singletons_ddl('ops')}")
                finally:
                    await conn.close()
                keeper = Singleton(
                    "topology-keeper", service="ops", schema="ops", database_url=database_url, loop=keep
                )
                await keeper.run(stop)
        finally:
            await nc.close()

    asyncio.run(run())


@topology_app.command("nats-users")
def topology_nats_users() -> None:
    """Print nats-server's users and permissions generated from the topology (deploy/nats-users.conf);
    passwords are $NATS_<USER>_PASSWORD references that nats-server reads from its environment."""
    print(authorization_block(), end="")


@replay_app.command("scoring")
def replay_scoring(database_url: DatabaseUrl = None) -> None:
    """Drop scoring's tables and rebuild them from the services' event stores."""
    share = replay_with_progress(database(database_url), console)
    console.print(
        f"[green]rebuilt[/] {share.events} events, {share.dossiers} dossiers,"
        f" {len(share.figures)} figure rows; {share.late} events the live consumer applied meanwhile"
        " kept on top"
    )


@app.command()
def verify(database_url: DatabaseUrl = None, show: int = 50) -> None:
    """Recompute every figure from the log and compare with the live projection (exit 1 on any difference).

    The audit: the legal clock is run again over every dossier's events, instead of counting the
    readings processing published, so a difference here also catches a wrong published reading.
    The log and the projection are read at one instant, so a running system can be audited.
    """
    audit, diffs = verify_with_progress(database(database_url), console)
    if audit.in_flight:
        console.print(
            f"{audit.in_flight} events of the log were on their way to scoring at the audit's instant"
            f" (recorded less than {IN_FLIGHT.seconds // 60} min before it): not compared"
        )
    if not audit.difference_count:
        console.print(f"[green]0 differences[/] ({audit.dossiers} dossiers, {len(audit.figures)} figures)")
        return
    table = Table("table", "key", "column", "expected (log)", "actual (projection)")
    for d in diffs[:show]:
        table.add_row(d.table, d.key, d.column, str(d.expected), str(d.actual))
    console.print(table)
    console.print(f"[red]{audit.difference_count} difference(s)[/]")
    raise typer.Exit(1)


@app.command()
def history(code: str, database_url: DatabaseUrl = None) -> None:
    """Print one dossier's full history across services, from the event stores."""
    from services.ops.event_log import dossier_history, open_logs

    logs = open_logs(database(database_url))
    try:
        events = dossier_history(logs, code)
    finally:
        for log in logs:
            log.close()
    if not events:
        console.print(f"[red]no events for dossier {code}[/]")
        raise typer.Exit(1)
    from services.ops.history_print import history_lines

    console.print(f"hồ sơ {code} (local time, Asia/Ho_Chi_Minh)", soft_wrap=True)
    for line in history_lines(events):
        console.print(line, soft_wrap=True, markup=False, highlight=False)


@app.command()
def lag(nats_url: NatsUrl = None) -> None:
    """Consumer lag: stream last sequence against each consumer's ack floor."""

    url = nats_server(nats_url)

    async def run() -> dict[str, Any]:
        nc = await _nats(url)
        try:
            return await operations.lag(nc.jetstream())
        finally:
            await nc.close()

    info = asyncio.run(run())
    table = Table(
        "consumer",
        "ack floor",
        "lag",
        "pending",
        "ack pending",
        "redelivered",
        title=f"stream {info['stream']} last seq {info['last_seq']}",
    )
    for c in info["consumers"]:
        if not c["declared"]:
            table.add_row(c["consumer"], "not declared", "", "", "", "")
            continue
        # A filtered consumer's ack floor trails the stream by other services' events, so the
        # lag is what it still has to deliver plus what it has delivered but not acknowledged.
        table.add_row(
            c["consumer"],
            str(c["ack_floor"]),
            str(c["pending"] + c["ack_pending"]),
            *(str(c[k]) for k in ("pending", "ack_pending", "redelivered")),
        )
    console.print(table)


@app.command("dead-letters")
def dead_letters(
    database_url: DatabaseUrl = None,
    nats_url: NatsUrl = None,
    redrive: Annotated[
        int | None, typer.Option(help="run this dead letter again through the consumer that failed on it")
    ] = None,
    schema: Annotated[str, typer.Option(help="service schema of the dead letter to redrive")] = "scoring",
) -> None:
    """List dead letters of every service, or re-drive one after a fix."""

    url = database(database_url)
    bus = nats_server(nats_url) if redrive is not None else ""

    async def run() -> Any:
        conn = await asyncpg.connect(url)
        try:
            if redrive is None:
                return await operations.dead_letters(conn)
            nc = await _nats(bus)
            try:
                return await operations.redrive(conn, nc, schema, redrive)
            finally:
                await nc.close()
        finally:
            await conn.close()

    try:
        result = asyncio.run(run())
    except operations.UnknownDeadLetter as exc:
        console.print(f"[red]no such dead letter: {exc}[/]")
        raise typer.Exit(1) from exc
    except operations.RedriveFailed as exc:
        console.print(f"[red]not re-driven ({exc.code}):[/] {exc.detail}")
        raise typer.Exit(1) from exc
    if redrive is not None:
        console.print(
            f"[green]re-driven[/] {schema}/{redrive} through {result['consumer']}: {result['outcome']}"
        )
        return
    table = Table("schema", "id", "consumer", "subject", "reason", "dead at")
    for d in result:
        table.add_row(d["schema"], str(d["id"]), d["consumer"], d["subject"], d["reason"][:80], d["dead_at"])
    console.print(table)
    console.print(f"{len(result)} dead letter(s) not yet re-driven")


@app.command()
def erase(
    code: str,
    reason: Annotated[str, typer.Option(help="the data subject's request and its reference")],
    user: Annotated[str, typer.Option("--user", help="who erases (user id)")],
    role: Annotated[str, typer.Option(help="dpo or ops")] = "dpo",
    agency: Annotated[str, typer.Option(help="the unit of the one who erases")] = "TTPVHCC",
    legal_obligation: Annotated[
        str | None, typer.Option(help="the legal obligation to erase during the retention period")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Erase the personal data of the data subject of dossier CODE (deletes their key; recorded as an event).

    Needs the master key (MOTCUA_MASTER_KEY / MOTCUA_MASTER_KEY_FILE). A running service may
    keep the erased key in memory for up to a minute (its cache's time to live).
    """
    from services.intake.application import IntakeApplication
    from services.intake.personal import erase as erase_subject
    from services.intake.schemas import ErasureRequest
    from shared.contracts import Actor, Channel
    from shared.eventlog import eventstore_env
    from shared.host.errors import ApiError
    from shared.pii import KeyRing, master_key_from_env

    if role not in ("dpo", "ops"):  # the policy table's erasure roles, at the command line too
        console.print("[red]only the data protection officer (dpo) or ops may erase[/]")
        raise typer.Exit(2)
    try:
        actor = Actor(user_id=user, role=role, agency=agency, channel=Channel.IN_PERSON)
        request = ErasureRequest(reason=reason, legal_obligation=legal_obligation)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc

    url = database(database_url)

    async def run() -> dict[str, Any]:
        application = IntakeApplication(env=eventstore_env(url, "intake", pool_size=1))
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            keyring = KeyRing(master_key_from_env())
            async with pool.acquire() as conn:
                await keyring.start(conn)
            return await erase_subject(
                pool, application, keyring, code, request, actor=actor.model_dump(mode="json")
            )
        finally:
            await pool.close()
            application.close()

    try:
        result = asyncio.run(run())
    except ApiError as exc:
        console.print(f"[red]{exc.code}[/]: {exc.vi} / {exc.en}")
        for key, value in exc.details.items():
            console.print(f"  {key}: {value}")
        raise typer.Exit(1) from exc
    console.print(
        f"[green]erased[/] the personal data of {', '.join(result['dossiers'])} at {result['erased_at']}"
    )


catalogue_app = typer.Typer(help="The procedure catalogue: import, export", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")


@catalogue_app.command("import")
def catalogue_import(
    file: Annotated[Path, typer.Argument(help="a JSON export in the national procedure database's layout")],
    effective_from: Annotated[
        str | None, typer.Option(help="ISO date the changes apply from (default: today)")
    ] = None,
    withdraw_missing: Annotated[
        bool, typer.Option(help="withdraw recorded procedures the file does not list (a full export)")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Records the differences between FILE and the recorded catalogue as events (none if equal)."""
    from datetime import date

    from services.intake.application import IntakeApplication
    from services.intake.catalogue.importer import ImportRefused, import_catalogue, read_national_file
    from services.intake.catalogue.national import NationalRecordError
    from shared.clock import local_today
    from shared.eventlog import ensure_schema, eventstore_env

    url = database(database_url)
    try:
        wanted = read_national_file(file)
        since = date.fromisoformat(effective_from) if effective_from else local_today()
    except (OSError, ValueError, KeyError, NationalRecordError) as exc:
        console.print(f"[red]cannot read {file}[/]: {exc}")
        raise typer.Exit(1) from exc
    ensure_schema(url, "intake")
    application = IntakeApplication(env=eventstore_env(url, "intake", pool_size=1))
    # a full export withdraws what it no longer lists: procedures, and the units if it lists them
    listed = {kind for kind, _ in wanted}
    try:
        plan = import_catalogue(
            application,
            url,
            wanted,
            effective_from=since,
            withdraw_missing=tuple(sorted(listed)) if withdraw_missing else (),
        )
    except ImportRefused as exc:
        console.print(f"[red]import refused, nothing recorded[/]: {exc}")
        raise typer.Exit(1) from exc
    for diff in plan:
        fields = ", ".join(sorted(diff.data)) if diff.action == "change" else ""
        console.print(f"{diff.action:<9} {diff.kind:<10} {diff.code:<12} {fields}")
    count = sum(1 for kind, _ in wanted if kind == "procedure")
    console.print(f"[green]{len(plan)} difference(s) recorded[/] ({count} procedure(s) in the file)")


@catalogue_app.command("export")
def catalogue_export() -> None:
    """The demo catalogue's procedures in the national layout, on standard output."""
    from services.intake.catalogue.importer import demo_national_file

    print(json.dumps(demo_national_file(), ensure_ascii=False, indent=2))


def main() -> None:
    app()


@app.command()
def token(
    user: Annotated[
        str | None, typer.Option(help="a demo user (see --list), or any name with --role/--unit")
    ] = None,
    role: Annotated[list[str] | None, typer.Option(help="role(s) for a user that is not a demo user")] = None,
    unit: Annotated[
        str | None, typer.Option(help="unit code (agency) for a user that is not a demo user")
    ] = None,
    list_users: Annotated[bool, typer.Option("--list", help="list the demo users")] = False,
    data_dir: Annotated[Path, typer.Option(help="the data folder of `make run`")] = Path(".data"),
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 8 * 3600,
) -> None:
    """A bearer token from the development identity provider of `make run` (development only)."""
    # here, not at the top: the identity provider's app (FastAPI) cost every command ~0.3 s to import
    from services.identity_dev import PORT as IDENTITY_PORT
    from services.identity_dev.main import issuer_url
    from shared.auth.dev_issuer import DEMO_USERS, DevIssuer, demo_user
    from shared.auth.principal import Role

    if list_users:
        for u in DEMO_USERS:
            console.print(f"{u.username:<20} {','.join(str(r) for r in u.roles):<12} {u.agency:<10} {u.name}")
        return
    if user is None:
        raise typer.BadParameter("give --user (see --list)")
    if not (data_dir / "dev-issuer-key.pem").exists():
        console.print(f"[red]no development issuer in {data_dir}[/]: start `make run` first")
        raise typer.Exit(1)
    port = int(os.environ.get("IDENTITY_PORT", IDENTITY_PORT))
    issuer = DevIssuer.in_folder(data_dir, issuer=issuer_url(port))
    if role or unit:
        if not (role and unit):
            raise typer.BadParameter("--role and --unit go together")
        print(issuer.token(user, tuple(Role(r) for r in role), unit, ttl_s=ttl))
        return
    try:
        print(issuer.token_for(demo_user(user), ttl_s=ttl))
    except KeyError:
        raise typer.BadParameter(f"{user} is not a demo user; add --role and --unit") from None


if __name__ == "__main__":
    main()
