"""Wiring of a service's ``eventsourcing`` application to its own PostgreSQL schema.

``DATABASE_URL`` may name several hosts, as libpq, psycopg and asyncpg all read it::

    postgresql://user:pw@db-a:5432,db-b:5432/motcua?target_session_attrs=read-write

Each new connection tries the hosts in turn and keeps the first that accepts writes: after a
fail-over (the primary gone, a standby promoted) the pools' next connections find the new
primary without a restart of the service. ``eventsourcing`` takes host and port as separate
settings (comma-separated lists are passed through to libpq) and knows no other connection
parameters; ``FailoverPostgresFactory`` hands the URL's query parameters to its pool.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from eventsourcing.persistence import InfrastructureFactoryError
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType

from shared.signals.tracing import MAPPER_TOPIC

# eventsourcing setting: the URL's query parameters (JSON), added to every pooled connection.
CONNECT_PARAMS = "POSTGRES_CONNECT_PARAMS"


@dataclass(frozen=True)
class DatabaseTarget:
    """The parts of a ``postgresql://`` URL, hosts and ports in the order they are tried."""

    hosts: tuple[tuple[str, int], ...]
    dbname: str
    user: str
    password: str
    params: dict[str, str] = field(default_factory=dict)


def parse_database_url(database_url: str) -> DatabaseTarget:
    """``postgresql://[user[:password]@]host[:port][,host[:port]...]/dbname[?key=value&...]``.

    ``urllib`` reads one host only (``hostname`` of ``a:1,b:2`` is nonsense), so the host list is
    split here.
    """
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL (postgresql://...): scheme {parts.scheme!r}")
    credentials, _, hostlist = parts.netloc.rpartition("@")
    user, _, password = credentials.partition(":")
    hosts: list[tuple[str, int]] = []
    for item in hostlist.split(",") if hostlist else ["127.0.0.1"]:
        if item.startswith("["):  # [::1]:5432
            host, _, rest = item[1:].partition("]")
            port = rest.lstrip(":")
        else:
            host, _, port = item.partition(":")
        hosts.append((unquote(host) or "127.0.0.1", int(port) if port else 5432))
    return DatabaseTarget(
        hosts=tuple(hosts),
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
        user=unquote(user) or "postgres",
        password=unquote(password),
        params=dict(parse_qsl(parts.query)),
    )


def eventstore_env(database_url: str, schema: str, *, pool_size: int = 5) -> dict[str, str]:
    """The ``eventsourcing`` settings for one service: same database, its own schema."""
    target = parse_database_url(database_url)
    return {
        "PERSISTENCE_MODULE": f"{__name__}:FailoverPostgresFactory",
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_HOST": ",".join(host for host, _ in target.hosts),
        "POSTGRES_PORT": ",".join(str(port) for _, port in target.hosts),
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        CONNECT_PARAMS: json.dumps(target.params, sort_keys=True),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "10",
        "POSTGRES_LOCK_TIMEOUT": "5",
        # No ping before each checkout (a round trip per save): a dead pooled connection fails
        # before anything is written, and the library retries that save on a fresh one.
        "POSTGRES_PRE_PING": "n",
        "CREATE_TABLE": "y",
        "IS_SNAPSHOTTING_ENABLED": "y",
        # Each event is stored with the trace context it was written in (the relay sends it on).
        "MAPPER_TOPIC": MAPPER_TOPIC,
    }


class FailoverPostgresFactory(PostgresFactory):
    """``eventsourcing``'s PostgreSQL factory, whose pool also gets the URL's parameters
    (``target_session_attrs=read-write`` above all: never a standby that cannot take writes)."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        raw = self.env.get(CONNECT_PARAMS) or "{}"
        try:
            params: dict[str, Any] = json.loads(raw)
        except ValueError as exc:
            raise InfrastructureFactoryError(f"{CONNECT_PARAMS} is not JSON: {raw!r}") from exc
        kwargs = self.datastore.pool.kwargs
        if params and isinstance(kwargs, dict):  # the pool opens lazily: before any connection
            kwargs.update(params)


def ensure_schema(database_url: str, schema: str) -> None:
    """The library creates its tables but not the schema they live in."""
    with schema_ready(database_url, schema):
        pass


@contextlib.contextmanager
def schema_ready(database_url: str, schema: str) -> Iterator[None]:
    """The schema exists, and no other process creates tables in it until the block ends.

    Replicas starting together on a fresh database would otherwise race on ``CREATE ... IF NOT
    EXISTS`` (PostgreSQL then fails one of them on its catalogue's unique index); the library
    creates its tables when its application is constructed, so that goes inside the block.
    """
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"ddl:{schema}",))
        try:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (f"ddl:{schema}",))
