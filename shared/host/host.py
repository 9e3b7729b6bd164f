"""One service process: its PostgreSQL pool, its NATS broker, its relay and its consumers.

Every service starts and stops the same way, so the lifecycle lives here once; a service
passes in what it has (an event-sourced application with a translator, tracked consumers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import asyncpg
from eventsourcing.application import Application
from fastapi import FastAPI
from faststream.nats import NatsBroker
from faststream.nats.security import NatsUserPassword
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from shared.eventlog import (
    STREAM,
    OutboxRelay,
    TrackedConsumer,
    declare_topology,
    ensure_eventlog_tables,
    ensure_schema,
)
from shared.eventlog.nats_users import inbox_prefix, log_nats_error, server_urls, strip_credentials
from shared.eventlog.redrive import serve_redrives
from shared.eventlog.relay import Translator
from shared.eventlog.singleton import Loop, Singleton
from shared.host.gc_tuning import tune_after_start
from shared.host.settings import Settings

log = logging.getLogger(__name__)

# How long a service with its own NATS user waits for ops to declare its consumers.
TOPOLOGY_WAIT_S = 60.0


class ServiceHost:
    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        schema: str | None = None,
        pool_size: int = 10,
    ) -> None:
        self.name = name
        self.schema = schema or name
        self.settings = settings
        self.pool_size = pool_size
        self.broker = _broker(settings)
        self.consumers: list[TrackedConsumer] = []
        self.relay: OutboxRelay | None = None
        self._relay_source: tuple[Application[Any], Translator] | None = None
        self._pool: asyncpg.Pool | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        # Consumers' pull loops: cancelled at once on stop (a batch cut short is redelivered).
        self._pulls: list[asyncio.Task[None]] = []
        # Run once the pool exists and before any message is consumed (tables, seeds).
        self.setup: list[Callable[[], Awaitable[None]]] = []
        # Long-running loops started with the service in every replica; each gets the stop event.
        self.background: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = []
        # Loops that one replica of the service runs at a time (the relay, sweepers): by name.
        self.singletons: dict[str, Singleton] = {}
        self._exclusive: dict[str, Loop] = {}

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._pool

    @property
    def started(self) -> bool:
        return self._pool is not None

    def publish_from(self, app: Application[Any], translate: Translator) -> None:
        self._relay_source = (app, translate)

    def consume(self, consumer: TrackedConsumer) -> None:
        self.consumers.append(consumer)

    def exclusive(self, name: str, loop: Loop) -> None:
        """A loop that must not run in two replicas at once: it runs in whichever replica holds
        its lock, and moves to another when that one stops or dies (``singleton.py``)."""
        self._exclusive[name] = loop

    async def start(self) -> None:
        await asyncio.to_thread(ensure_schema, self.settings.database_url, self.schema)
        self._pool = await asyncpg.create_pool(
            self.settings.database_url, min_size=1, max_size=self.pool_size
        )
        async with self.pool.acquire() as conn:
            # Replicas starting together on a fresh database would race on their tables
            # (CREATE ... IF NOT EXISTS is not safe concurrently): one sets up at a time.
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"setup:{self.schema}")
            try:
                await ensure_eventlog_tables(conn, self.schema)
                for hook in self.setup:
                    await hook()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"setup:{self.schema}")
        await self.broker.connect()
        js = self.broker.config.connection_state.stream
        if self.settings.nats_user is None:
            # A bus without users (a developer's own nats-server): nobody else declares.
            await declare_topology(js)
        else:
            await self._wait_declared(js)
        await self.broker.start()
        for consumer in self.consumers:
            await serve_redrives(self.nats, consumer, lambda: self.pool)
        if self._relay_source is not None:
            app, translate = self._relay_source
            self.relay = OutboxRelay(
                name=self.name, schema=self.schema, app=app, translate=translate, js=js, pool=self.pool
            )
            # One relay per service publishes at a time: a second would only publish again.
            self._exclusive = {"relay": self.relay.run, **self._exclusive}
        for consumer in self.consumers:
            self._pulls.append(asyncio.create_task(consumer.run(js, self._stop)))
        for loop in self.background:
            self._tasks.append(asyncio.create_task(loop(self._stop)))
        for name, exclusive in self._exclusive.items():
            singleton = Singleton(
                name,
                service=self.name,
                schema=self.schema,
                database_url=self.settings.database_url,
                loop=exclusive,
            )
            self.singletons[name] = singleton
            self._tasks.append(asyncio.create_task(singleton.run(self._stop)))
        tune_after_start()
        log.info("%s started", self.name)

    @property
    def nats(self) -> Client:
        """The raw NATS connection (core requests: redrive)."""
        client: Client = self.broker.config.connection_state.connection
        return client

    async def _wait_declared(self, js: JetStreamContext) -> None:
        """With its own NATS user a service may not declare: ops does (docs/security/nats-and-secrets.md)."""
        deadline = time.monotonic() + TOPOLOGY_WAIT_S
        for consumer in self.consumers:
            while True:
                try:
                    await js.consumer_info(STREAM, consumer.spec.durable)
                    break
                except NotFoundError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{self.name}: consumer {consumer.spec.durable} of stream {STREAM} is not"
                            " declared; run `motcua topology declare` with the ops user's credentials"
                        ) from None
                    log.warning("%s: waiting for ops to declare %s", self.name, consumer.spec.durable)
                    await asyncio.sleep(1.0)

    async def stop(self) -> None:
        """Stops everything within a bounded time: a process that hangs on its way out is
        killed by whoever runs it, and nothing it holds is then released cleanly."""
        self._stop.set()
        for pull in self._pulls:
            pull.cancel()
        # Loops see the stop event and finish; whatever has not after a few seconds is cancelled.
        pending = [*self._pulls, *self._tasks]
        if pending:
            _, late = await asyncio.wait(pending, timeout=5)
            for task in late:
                log.warning("%s: %s did not stop in time; cancelled", self.name, task.get_coro())
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=2)
        self._pulls.clear()
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.broker.stop(), timeout=5)
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), timeout=5)
            except TimeoutError:
                log.warning("%s: database connections still in use after 5 s; closed anyway", self.name)
                self._pool.terminate()
            self._pool = None
        if self._relay_source is not None:
            await asyncio.to_thread(self._relay_source[0].close)

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def health(self) -> tuple[str, dict[str, Any]]:
        """The overall status and the details: per dependency ``up``, ``degraded`` or ``down``
        (see ``dependency_status``); overall the worst of them."""
        started = time.perf_counter()
        postgres = await _probe(lambda: self.pool.fetchval("SELECT 1"))
        nats = await _probe(self._nats_probe)
        checks: dict[str, Any] = {"dependencies": {"postgres": postgres, "nats": nats}}
        if self.relay is not None:
            checks["relay"] = self.relay.status()
        if self.relay is not None and postgres["status"] != "down":
            with contextlib.suppress(Exception):  # down between the two reads: left out
                checks["relay_position"] = await asyncio.wait_for(self.relay.position(), timeout=2)
        if self.singletons:
            checks["singletons"] = {name: s.status() for name, s in self.singletons.items()}
        checks["consumers"] = {
            c.spec.durable: {
                "processed": c.stats.processed,
                "duplicates": c.stats.duplicates,
                "dead_lettered": c.stats.dead_lettered,
                "failed_batches": c.stats.failed_batches,
            }
            for c in self.consumers
        }
        checks["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
        statuses = {postgres["status"], nats["status"]}
        overall = "down" if "down" in statuses else "degraded" if "degraded" in statuses else "up"
        return overall, checks

    async def _nats_probe(self) -> Any:
        client = self.nats
        if not client.is_connected:  # reconnecting or closed: JetStream calls would only wait
            state = "reconnecting" if client.is_reconnecting else "not connected"
            raise ConnectionError(f"NATS: {state}")
        js = self.broker.config.connection_state.stream
        return await js.account_info()


# A dependency answering slower than this is "degraded": up, but requests will be slow.
DEGRADED_AFTER_S = 0.5
# No answer within this is "down" (so /health itself answers within a few seconds).
DOWN_AFTER_S = 2.0


async def _probe(check: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    """``up``: answered within DEGRADED_AFTER_S; ``degraded``: answered, but slowly; ``down``: an
    error, or no answer within DOWN_AFTER_S."""
    began = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=DOWN_AFTER_S)
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        return {"status": "down", "error": repr(exc)[:300]}
    elapsed = time.perf_counter() - began
    status = "degraded" if elapsed > DEGRADED_AFTER_S else "up"
    return {"status": status, "latency_ms": round(elapsed * 1000, 1)}


def _broker(settings: Settings) -> NatsBroker:
    # Per-message "Received/Processed" lines at DEBUG: at 1,000 dossiers/s they would drown
    # the log and cost real time; failures are still logged as errors.
    common: dict[str, Any] = {
        "max_reconnect_attempts": -1,
        "log_level": logging.DEBUG,
        "error_cb": log_nats_error,
    }
    if settings.nats_user is None:
        return NatsBroker(server_urls(settings.nats_url), **common)
    return NatsBroker(
        server_urls(strip_credentials(settings.nats_url)),
        security=NatsUserPassword(settings.nats_user, settings.nats_password or ""),
        inbox_prefix=inbox_prefix(settings.nats_user),
        **common,
    )
