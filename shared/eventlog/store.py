"""Wiring of a service's ``eventsourcing`` application to its own PostgreSQL schema."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import unquote, urlparse

import psycopg

from shared.signals.tracing import MAPPER_TOPIC


def eventstore_env(database_url: str, schema: str, *, pool_size: int = 5) -> dict[str, str]:
    """The ``eventsourcing`` settings for one service: same database, its own schema."""
    url = urlparse(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": (url.path or "/postgres").lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
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
