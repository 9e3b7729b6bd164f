"""Work that one replica of a service does at a time: its relay, its sweepers.

Every replica of a service runs the same code; a loop that must not run twice at once (the
outbox relay, processing's overdue sweeper, postal's booking rounds) is wrapped in a
``Singleton``. Each replica opens a dedicated PostgreSQL connection and tries a session
advisory lock on it, once a second; the replica that gets it runs the loop until it stops, and
the others keep trying. The lock belongs to that connection's server process, so:

* a holder killed with -9 loses it as soon as PostgreSQL sees the socket close (at once on one
  machine; across a network the session's TCP keepalives below notice within seconds);
* a holder whose connection breaks (PostgreSQL restarted, the network cut) stops its loop at the
  next heartbeat, and takes part in the next round like everyone else;
* a holder that stops cleanly stops the loop first, then closes the connection: another replica
  takes over within ``retry_s``.

A lock on a connection cannot fence a holder that is cut off from PostgreSQL but still running:
for a moment, before its heartbeat fails, it may still act while another has taken over. Every
loop wrapped here tolerates that: a relay that publishes again is deduplicated by the stream and
the consumers' tracking, and the sweepers only propose steps that the aggregates refuse twice
(optimistic concurrency in the event store).

The holder writes itself into ``<schema>.singletons`` when it takes over (who, since when, the
number of terms so far), so that every replica's ``/health`` can say who holds what.

The lock needs a real session: a pooler in transaction mode (PgBouncer) between the services and
PostgreSQL would hand the lock to whichever client used the server connection next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import zlib
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

# The first key of every motcua advisory lock (two int4 keys): singletons never collide with
# anyone else's advisory locks on the same database ("motcua" in ASCII, folded into an int4).
NAMESPACE = 0x6D6F7463
RETRY_S = float(os.environ.get("MOTCUA_SINGLETON_RETRY_S", "1.0"))
HEARTBEAT_S = float(os.environ.get("MOTCUA_SINGLETON_HEARTBEAT_S", "1.0"))
# Server-side keepalives on the lock's connection: a holder that vanishes without closing its
# socket (a host lost, a cable cut) loses the lock in about idle + interval x count seconds.
KEEPALIVES = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "1", "tcp_keepalives_count": "3"}

Loop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def replica_identity() -> str:
    """Who this process is, as operators see it: the pod's name (``HOSTNAME`` on Kubernetes) or
    the machine's, and the process id."""
    name = os.environ.get("MOTCUA_REPLICA") or os.environ.get("HOSTNAME") or socket.gethostname()
    return f"{name}:{os.getpid()}"


def lock_key(service: str, name: str) -> int:
    """The second key of a singleton's lock: the same in every replica, a signed int4."""
    value = zlib.crc32(f"{service}/{name}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def singletons_ddl(schema: str) -> str:
    return f"""
    CREATE TABLE IF NOT EXISTS {schema}.singletons (
        name text PRIMARY KEY,
        holder text NOT NULL,
        since timestamptz NOT NULL DEFAULT now(),
        terms integer NOT NULL DEFAULT 1
    );
    """


class Singleton:
    def __init__(
        self,
        name: str,
        *,
        service: str,
        schema: str,
        database_url: str,
        loop: Loop,
        identity: str | None = None,
        retry_s: float = RETRY_S,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.name = name
        self.service = service
        self.schema = schema
        self.database_url = database_url
        self.loop = loop
        self.identity = identity or replica_identity()
        self.retry_s = retry_s
        self.heartbeat_s = heartbeat_s
        self.key = lock_key(service, name)
        self.held = False
        self.holder: str | None = None
        self.since: datetime | None = None
        self.terms = 0  # terms of this singleton so far, over all replicas
        self.terms_here = 0
        self.last_error: str | None = None

    def status(self) -> dict[str, Any]:
        """For ``/health``: whether this replica holds it, and who does (as last seen)."""
        return {
            "held_here": self.held,
            "holder": self.holder,
            "since": self.since.isoformat() if self.since else None,
            "terms": self.terms,
            "terms_here": self.terms_here,
            "identity": self.identity,
            "error": self.last_error,
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Competes for the lock and runs the loop while holding it, until ``stop`` is set."""
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncio.wait_for(
                    asyncpg.connect(
                        self.database_url,
                        server_settings={
                            "application_name": f"motcua {self.service} {self.name} {self.identity}"[:63],
                            **KEEPALIVES,
                        },
                    ),
                    timeout=10,
                )
                if await self._acquire(conn, stop):
                    await self._hold(conn, stop)
            except Exception as exc:  # noqa: BLE001 - PostgreSQL away: try again, never give up
                self.last_error = repr(exc)[:300]
                log.warning("singleton %s/%s: %r; trying again", self.service, self.name, exc)
            finally:
                self.held = False
                if conn is not None:
                    # Closing the session is what releases the lock.
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)
                    if not conn.is_closed():
                        conn.terminate()
            await _wait(stop, self.retry_s)

    async def _acquire(self, conn: asyncpg.Connection, stop: asyncio.Event) -> bool:
        """Tries the lock every ``retry_s`` until it is had (True) or ``stop`` is set (False)."""
        while not stop.is_set():
            got = await asyncio.wait_for(
                conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, self.key),
                timeout=self.retry_s * 5,
            )
            if got:
                row = await conn.fetchrow(
                    f"INSERT INTO {self.schema}.singletons AS s (name, holder) VALUES ($1, $2)"
                    " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, since = now(),"
                    " terms = s.terms + 1 RETURNING since, terms",
                    self.name,
                    self.identity,
                )
                self._seen(self.identity, row["since"], row["terms"])
                self.held, self.last_error = True, None
                self.terms_here += 1
                log.info(
                    "singleton %s/%s: held by %s (term %d)",
                    self.service,
                    self.name,
                    self.identity,
                    self.terms,
                )
                return True
            row = await conn.fetchrow(
                f"SELECT holder, since, terms FROM {self.schema}.singletons WHERE name = $1", self.name
            )
            if row is not None:
                self._seen(row["holder"], row["since"], row["terms"])
            self.last_error = None
            await _wait(stop, self.retry_s)
        return False

    def _seen(self, holder: str, since: datetime, terms: int) -> None:
        self.holder, self.since, self.terms = holder, since, int(terms)

    async def _hold(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        """Runs the loop while the lock's connection answers; stops it when that fails."""
        term = asyncio.Event()
        task = asyncio.create_task(self.loop(term))
        try:
            while not stop.is_set() and not task.done():
                await _wait(stop, self.heartbeat_s)
                if stop.is_set() or task.done():
                    break
                try:
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=self.heartbeat_s * 2)
                except Exception:
                    log.warning(
                        "singleton %s/%s: lost the lock's connection; stopping the loop here",
                        self.service,
                        self.name,
                    )
                    raise
        finally:
            self.held = False
            term.set()
            # The loop stops before the lock is released, so two replicas overlap only when the
            # connection broke (see the module's docstring).
            try:
                done, _ = await asyncio.wait({task}, timeout=3)
            finally:
                if not task.done():  # too slow, or this replica is being cancelled itself
                    task.cancel()
            if not done:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, timeout=2)
            elif not task.cancelled() and task.exception() is not None:
                log.error(
                    "singleton %s/%s: the loop failed", self.service, self.name, exc_info=task.exception()
                )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
